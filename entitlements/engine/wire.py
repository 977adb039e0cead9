"""The number and time formats the engine writes into reasons and timestamps, and spend policies as JSON."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from entitlements.engine.model import SpendPolicy


def format_credits(amount: float) -> str:
    """``amount`` as the engine prints it in reasons: shortest round-trip digits, never an exponent, no ``.0``."""
    if math.isnan(amount):
        return "NaN"
    if math.isinf(amount):
        return "inf" if amount > 0 else "-inf"
    digits = format(Decimal(repr(amount)), "f")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    return digits


def rfc3339_with_fraction(moment: dt.datetime) -> str:
    """``moment`` in UTC as ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z``."""
    utc = moment.astimezone(dt.UTC)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    microsecond = utc.microsecond
    if microsecond:
        text += f".{microsecond // 1000:03d}" if microsecond % 1000 == 0 else f".{microsecond:06d}"
    return text + "Z"


def _plural(amount: float) -> str:
    """``credit`` for exactly one, else ``credits``."""
    return "credit" if amount == 1 else "credits"


_SCOPE_WORDS = {"company": "company", "user": "user", "group": "group"}


def spend_policy_reason(policy: SpendPolicy, cost: float) -> str:
    """``A draw of 2.5 credits exceeds the company limit of 1 credit per request`` (wording VERIFIED on the engine)."""
    if policy.kind == "per_draw":
        per = "per request"
    elif policy.window_unit is None:
        per = "per period"
    elif policy.window_count == 1:
        per = f"per {policy.window_unit}"
    else:
        per = f"per {policy.window_count} {policy.window_unit}s"
    scope = _SCOPE_WORDS.get(policy.scope, "spend")
    return (
        f"A draw of {format_credits(cost)} {_plural(cost)} exceeds the {scope} limit of "
        f"{format_credits(policy.limit)} {_plural(policy.limit)} {per}"
    )


def spend_policy_to_wire(policy: SpendPolicy) -> dict[str, Any]:
    """A spend policy as the engine echoes it: known fields, nulls dropped, amounts as floats."""
    wire: dict[str, Any] = {"id": policy.id, "credit_id": policy.credit_id, "kind": policy.kind, "scope": policy.scope}
    if policy.company_id is not None:
        wire["company_id"] = policy.company_id
    if policy.label is not None:
        wire["label"] = policy.label
    wire["limit"] = policy.limit
    wire["consumed"] = policy.consumed
    if policy.window_unit is not None:
        wire["window"] = {"unit": policy.window_unit, "count": policy.window_count}
    if policy.resets_at is not None:
        wire["resets_at"] = policy.resets_at
    return wire

"""Results → wire JSON, and the number/time formats the engine writes into reasons and timestamps."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from entitlements.engine.model import SpendPolicy

if TYPE_CHECKING:
    from entitlements.engine.result import CheckResult


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


def rfc3339(moment: dt.datetime) -> str:
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


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def result_to_wire(result: CheckResult) -> dict[str, Any]:
    """See ``CheckResult.to_wire``."""
    reset_at = result.feature_usage_reset_at
    wire: dict[str, Any] = {
        "value": result.value,
        "reason": result.reason,
        "flag_key": result.flag_key,
        "flag_id": result.flag_id,
        "company_id": result.company_id,
        "user_id": result.user_id,
        "rule_id": result.rule_id,
        "rule_type": result.rule_type,
        "entitlement": None if result.entitlement is None else _copy(dict(result.entitlement)),
        "feature_allocation": result.feature_allocation,
        "feature_usage": result.feature_usage,
        "feature_usage_event": result.feature_usage_event,
        "feature_usage_period": result.feature_usage_period,
        "feature_usage_reset_at": None if reset_at is None else rfc3339(reset_at),
    }
    if result.err is not None:
        wire["err"] = result.err
    block = result.credit_spend_policy
    if block is not None:
        wire["credit_spend_policy"] = {"cost": block.cost, "policy": spend_policy_to_wire(block.policy)}
    return wire

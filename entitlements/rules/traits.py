"""Trait values: checking a JSON value against a trait type and turning it into the wire's canonical string.

The rules engine reads every trait value as a string (PROTOCOL.md §4.7) and parses it by the definition's type, so
values are stored in the form it parses: ``"5"``, ``"true"``, ``"2025-01-31"``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from entitlements.models import TraitType


class TraitValueError(ValueError):
    """The value does not fit the trait's type; the message says why."""


def trait_type_infer(value: Any) -> str:
    """The trait type a first-seen JSON value implies: bool, int, or string (dates must be declared)."""
    if isinstance(value, bool):
        return TraitType.BOOL
    if isinstance(value, int):
        return TraitType.INT
    return TraitType.STRING


def trait_value_encode(trait_type: str, value: Any) -> str:
    """Canonical string for ``value`` under ``trait_type``; ``TraitValueError`` if it does not fit."""
    if value is None or isinstance(value, (dict, list)):
        raise TraitValueError("must be a string, number or boolean")
    if trait_type == TraitType.BOOL:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower()
        raise TraitValueError("must be a boolean")
    if trait_type == TraitType.INT:
        if isinstance(value, bool):
            raise TraitValueError("must be an integer")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, str):
            try:
                return str(int(value.strip()))
            except ValueError:
                pass
        raise TraitValueError("must be an integer")
    if trait_type == TraitType.DATE:
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) == 10:
                    return dt.date.fromisoformat(text).isoformat()
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    raise TraitValueError("must be a date (YYYY-MM-DD) or an RFC 3339 time with an offset")
                return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        raise TraitValueError("must be a date (YYYY-MM-DD) or an RFC 3339 time with an offset")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def trait_value_decode(trait_type: str, stored: str) -> Any:
    """The JSON value shown for a stored trait string (int → int, bool → bool, others as strings)."""
    if trait_type == TraitType.INT:
        try:
            return int(stored)
        except ValueError:
            return stored
    if trait_type == TraitType.BOOL:
        return stored == "true"
    return stored

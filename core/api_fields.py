"""Strict DRF fields and a serializer that refuses unknown fields.

DRF's own fields coerce (``123`` becomes ``"123"``, ``"true"`` becomes ``True``); the management API instead answers
400 for a value of the wrong JSON type, so that a client bug is caught, not silently reinterpreted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A JSON string, and only a string."""

    default_error_messages = {"not_a_string": "Must be a string, not {kind}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", kind=_json_kind(data))
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a boolean, string or fractional number)."""

    default_error_messages = {"not_an_integer": "Must be an integer, not {kind}."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, float) and data.is_integer())):
            self.fail("not_an_integer", kind=_json_kind(data))
        return super().to_internal_value(int(data))


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean."""

    default_error_messages = {"not_a_boolean": "Must be true or false, not {kind}."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_a_boolean", kind=_json_kind(data))
        return data


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 string with an offset; naive times are refused rather than guessed."""

    default_error_messages = {"naive": "Give a time zone offset, e.g. 2025-01-31T00:00:00Z."}

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="RFC 3339, e.g. 2025-01-31T00:00:00Z")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid", format="RFC 3339, e.g. 2025-01-31T00:00:00Z")
        if parsed.tzinfo is None:
            self.fail("naive")
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:  # an offset that moves the time outside years 1 to 9999
            self.fail("invalid", format="RFC 3339, e.g. 2025-01-31T00:00:00Z")


class StrictObjectField(serializers.DictField):
    """A JSON object (values checked by the service that receives it)."""

    default_error_messages = {"not_an_object": "Must be an object, not {kind}."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_an_object", kind=_json_kind(data))
        return dict(data)


class StrictSerializer(serializers.Serializer):
    """Refuses a body that is not a JSON object or that carries fields it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [f"Expected a JSON object, not {_json_kind(data)}."]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"

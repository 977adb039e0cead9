"""How the engine reads trait strings and compares them (PROTOCOL.md §5.2.3-4), pinned against Schematic's engine.

A trait value is always a string; each comparable type reads it differently:

* ``int``: an integer (``[+-]digits`` within int64) or else a finite decimal/exponent number (``5.9``, ``1e3``);
  anything else, including surrounding spaces, reads as ``0``. Integer against integer compares exactly; otherwise
  both sides compare as floats. ``is_empty`` ⇔ ``== 0``, ``not_empty`` ⇔ ``> 0``.
* the *strict* integer reading (``[+-]digits`` within int64, else ``0``; ``parse_int``) is used for metric limits
  taken from a trait, for feature usage/allocation figures, and as the base a preflight ``usage`` is added to.
* ``string``: compared by code point (``"9" > "10"``); ``is_empty`` ⇔ ``""``.
* ``bool``: ``"true"`` and ``"1"`` are true, anything else false; only ``eq``/``ne`` can match; ``is_empty`` never
  matches and ``not_empty`` always does.
* ``date``: nanoseconds since the epoch, or ``None`` when unreadable; ``None`` sorts before every date and equals
  ``None``. ``is_empty`` ⇔ unreadable. Readable forms are listed on ``parse_date_ns``.

Unknown operators never match.
"""

from __future__ import annotations

import datetime as dt
import math
import re

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_NS_PER_SECOND = 1_000_000_000
_DAY_SECONDS = 86_400

_ISO_SPACE = re.compile(r"([0-9]++)-([0-9]{1,2}+)-([0-9]{1,2}+)\s*([0-9]{1,2}+):([0-9]{1,2}+):([0-9]{1,2}+)\s*\S*\Z")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_ISO_T_OFFSET = re.compile(
    r"([0-9]++)-([0-9]{1,2}+)-([0-9]{1,2}+)T([0-9]{1,2}+):([0-9]{1,2}+):([0-9]{1,2}+)\s*([+-])([0-9]{2}):?([0-9]{2})\Z"
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_JS_DATE = re.compile(
    r"([a-z]{3})\s+([a-z]{3})\s+([0-9]{1,2}+)\s+([0-9]++)\s+([0-9]{1,2}+):([0-9]{1,2}+):([0-9]{1,2}+)"
    r"(?:\s+gmt\s*([+-])([0-9]{2}):?([0-9]{2})|\s*\S*)\Z",
    re.IGNORECASE,
)


def parse_int(text: str) -> int | None:
    """``text`` as an int64 when it is exactly ``[+-]digits`` in range, else ``None``."""
    if _INT.match(text):
        value = int(text)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return None


def parse_number(text: str) -> int | float:
    """``text`` read by an ``int`` trait comparison: an int64, else a finite float, else ``0``."""
    if _INT.match(text):
        value = int(text)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    if _FLOAT.match(text):
        number = float(text)
        if math.isfinite(number):
            return number
    return 0


def parse_bool(text: str) -> bool:
    """``text`` read by a ``bool`` trait comparison."""
    return text == "true" or text == "1"


def wrap_int64(value: int) -> int:
    """``value`` wrapped to int64 the way the engine's integer addition overflows."""
    return (value - INT64_MIN) % 2**64 + INT64_MIN


def _timestamp_ns(
    year: int, month: int, day: int, hour: int, minute: int, second: int, nanos: int = 0, offset_seconds: int = 0
) -> int | None:
    """Nanoseconds since the epoch of a civil UTC-offset time, or ``None`` when a field is out of range."""
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    try:
        days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    seconds = days * _DAY_SECONDS + hour * 3600 + minute * 60 + second - offset_seconds
    return seconds * _NS_PER_SECOND + nanos


def _offset_seconds(sign: str, hours: str, minutes: str) -> int | None:
    """The signed offset, or ``None`` when it is a day or more (the engine then ignores the offset).
    Minutes past 59 are refused by the caller before this is reached."""
    seconds = int(hours) * 3600 + int(minutes) * 60
    if seconds >= _DAY_SECONDS:
        return None
    return -seconds if sign == "-" else seconds


def _parse_rfc3339(match: re.Match[str]) -> int | None:
    """An RFC 3339 match as nanoseconds; ``None`` for an offset of a day or more."""
    year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    offset = 0
    if sign is not None:
        parsed_offset = _offset_seconds(sign, off_hours, off_minutes)
        if parsed_offset is None or int(off_minutes) > 59:
            return None
        offset = parsed_offset
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    return _timestamp_ns(int(year), int(month), int(day), int(hour), int(minute), int(second), nanos, offset)


def _parse_js(match: re.Match[str]) -> int | None:
    """A JavaScript ``Date.toString`` match as nanoseconds; the weekday must fit the date."""
    weekday, month_name, day, year, hour, minute, second, sign, off_hours, off_minutes = match.groups()
    if weekday.lower() not in _WEEKDAYS or month_name.lower() not in _MONTHS:
        return None
    if off_minutes is not None and int(off_minutes) > 59:
        return None
    month = _MONTHS.index(month_name.lower()) + 1
    offset = _offset_seconds(sign, off_hours, off_minutes) if sign is not None else 0
    try:
        if dt.date(int(year), month, int(day)).weekday() != _WEEKDAYS.index(weekday.lower()):
            return None
    except ValueError:
        return None
    return _timestamp_ns(int(year), month, int(day), int(hour), int(minute), int(second), 0, offset or 0)


def parse_date_ns(text: str) -> int | None:
    """``text`` read by a ``date`` trait comparison, as nanoseconds since the epoch; ``None`` if unreadable.

    Readable, tried in this order (offsets of a day or more are ignored rather than refused):
    ``2024-01-31 10:00:00`` followed by at most one space-free token, which is ignored (so ``…00.5`` and
    ``…00+01:00`` read as UTC ``10:00:00``); RFC 3339 ``2024-01-31T10:00:00[.f](Z|±hh:mm)``;
    ``2024-01-31T10:00:00±hh[:]mm``; and JavaScript ``Date.toString`` forms ``Wed Jan 31 2024 10:00:00`` followed by
    ``GMT±hhmm`` (honoured) or one space-free token (ignored), the weekday having to match the date.
    Not readable: date-only strings (``2024-01-31``), epoch numbers, a ``(Zone Name)`` suffix, surrounding spaces.
    """
    match = _ISO_SPACE.match(text)
    if match:
        year, month, day, hour, minute, second = (int(group) for group in match.groups())
        parsed = _timestamp_ns(year, month, day, hour, minute, second)
        if parsed is not None:
            return parsed
    match = _RFC3339.match(text)
    if match:
        parsed = _parse_rfc3339(match)
        if parsed is not None:
            return parsed
    match = _ISO_T_OFFSET.match(text)
    if match and int(match.group(9)) <= 59:
        year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
        offset = _offset_seconds(*match.groups()[6:])
        parsed = _timestamp_ns(year, month, day, hour, minute, second, 0, offset or 0)
        if parsed is not None:
            return parsed
    match = _JS_DATE.match(text)
    if match:
        return _parse_js(match)
    return None


def compare_number(operator: str, left: int | float, right: int | float) -> bool:
    """An ``int`` comparison or a metric comparison; mixed int/float sides compare as floats."""
    if type(left) is not type(right):
        left, right = float(left), float(right)
    if operator == "lt":
        return left < right
    if operator == "lte":
        return left <= right
    if operator == "eq":
        return left == right
    if operator == "gt":
        return left > right
    if operator == "gte":
        return left >= right
    if operator == "ne":
        return left != right
    if operator == "is_empty":
        return left == 0
    if operator == "not_empty":
        return left > 0
    return False


def compare_string(operator: str, left: str, right: str) -> bool:
    """A ``string`` comparison, by code point."""
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    if operator == "gt":
        return left > right
    if operator == "gte":
        return left >= right
    if operator == "lt":
        return left < right
    if operator == "lte":
        return left <= right
    if operator == "is_empty":
        return left == ""
    if operator == "not_empty":
        return left != ""
    return False


def compare_bool(operator: str, left: bool, right: bool) -> bool:
    """A ``bool`` comparison: only equality can match, and a bool is never empty."""
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    return operator == "not_empty"


def compare_date(operator: str, left: int | None, right: int | None) -> bool:
    """A ``date`` comparison; an unreadable date (``None``) sorts before every readable one."""
    if operator == "is_empty":
        return left is None
    if operator == "not_empty":
        return left is not None
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    left_key = (0, 0) if left is None else (1, left)
    right_key = (0, 0) if right is None else (1, right)
    if operator == "gt":
        return left_key > right_key
    if operator == "gte":
        return left_key >= right_key
    if operator == "lt":
        return left_key < right_key
    if operator == "lte":
        return left_key <= right_key
    return False

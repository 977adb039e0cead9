"""Metric windows (PROTOCOL.md §4.6): where the current window of a period starts and when it next resets.

All arithmetic is in UTC and windows are half-open ``[start, reset)``. Calendar periods: a day starts at UTC midnight,
a week on Sunday 00:00 UTC, a month on the 1st 00:00 UTC. ``current_month`` with ``billing_cycle`` resets on the
day-of-month and time of day of the subscription's ``period_start`` (the day clamped to shorter months: a 31st anchor
resets on 28/29 February, then on 31 March), the reset being capped at ``period_end``; without a subscription it is the
calendar month. ``all_time`` never resets and has no start. The month reset only matters to ``current_month``.

These functions serve both the engine (``feature_usage_reset_at``) and the usage counters (the window a counted event
falls in), so the two always agree. Every datetime must be timezone-aware: a naive one raises ``ValueError``.
"""

from __future__ import annotations

import calendar
import datetime as dt

_UTC = dt.UTC
_DAY = dt.timedelta(days=1)


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    """``moment`` in UTC; ``ValueError`` naming ``name`` when it is naive."""
    if moment.tzinfo is _UTC:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(_UTC)


def _month_start(year: int, month: int) -> dt.datetime:
    """The 1st of the month, 00:00 UTC."""
    return dt.datetime(year, month, 1, tzinfo=_UTC)


def _next_month_start(moment: dt.datetime) -> dt.datetime:
    """The 1st of the month after ``moment``, 00:00 UTC."""
    if moment.month == 12:
        return _month_start(moment.year + 1, 1)
    return _month_start(moment.year, moment.month + 1)


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    """``(year, month)`` moved by ``months``."""
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved by whole months, the day clamped to the target month's length (31 Jan + 1 → 28/29 Feb); the
    time of day and time zone are kept. Billing periods and trial ends are computed with it."""
    year, month = _shift_month(moment.year, moment.month, months)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _anchor_in(year: int, month: int, anchor: dt.datetime) -> dt.datetime:
    """The billing anchor's day and time of day placed in ``year``/``month``, the day clamped to the month's length."""
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def _calendar_start(period: str, now: dt.datetime) -> dt.datetime | None:
    """Start of the calendar window containing ``now``."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "current_day":
        return midnight
    if period == "current_week":
        return midnight - dt.timedelta(days=(now.weekday() + 1) % 7)
    if period == "current_month":
        return _month_start(now.year, now.month)
    if period == "all_time":
        return None
    raise ValueError(f"unknown metric period {period!r}")


def _calendar_reset(period: str, now: dt.datetime) -> dt.datetime | None:
    """End of the calendar window containing ``now``."""
    if period == "current_month":
        return _next_month_start(now)
    if period == "current_day":
        return dt.datetime(now.year, now.month, now.day, tzinfo=_UTC) + _DAY
    if period == "current_week":
        return dt.datetime(now.year, now.month, now.day, tzinfo=_UTC) + dt.timedelta(days=7 - (now.weekday() + 1) % 7)
    if period == "all_time":
        return None
    raise ValueError(f"unknown metric period {period!r}")


def window_start(
    period: str,
    month_reset: str,
    now: dt.datetime,
    subscription_start: dt.datetime | None = None,
    subscription_end: dt.datetime | None = None,
) -> dt.datetime | None:
    """The start (inclusive, UTC) of the ``period`` window that contains ``now``; ``None`` for ``all_time``.

    For ``current_month``/``billing_cycle`` with a ``subscription_start``: the latest anchor at or before ``now``, but
    never before ``subscription_start``; while the subscription has not started yet, the calendar month.
    ``subscription_end`` does not move the start (it only caps the reset); it is accepted for a symmetric signature.
    """
    now = _utc(now, "now")
    if subscription_end is not None:
        _utc(subscription_end, "subscription_end")
    if period != "current_month" or month_reset != "billing_cycle" or subscription_start is None:
        _check_month_reset(month_reset)
        return _calendar_start(period, now)
    anchor = _utc(subscription_start, "subscription_start")
    if anchor > now:
        return _month_start(now.year, now.month)
    start = _anchor_in(now.year, now.month, anchor)
    if start > now:
        start = _anchor_in(*_shift_month(now.year, now.month, -1), anchor)
    return max(start, anchor)


def window_reset_at(
    period: str,
    month_reset: str,
    now: dt.datetime,
    subscription_start: dt.datetime | None = None,
    subscription_end: dt.datetime | None = None,
) -> dt.datetime | None:
    """When the ``period`` window containing ``now`` ends (exclusive, UTC); ``None`` for ``all_time``.

    For ``current_month``/``billing_cycle`` with a ``subscription_start``: the first anchor strictly after ``now``,
    capped at ``subscription_end`` (so once the period has ended this is ``subscription_end``, in the past, as
    Schematic's engine reports it); while the subscription has not started yet, the earlier of the next calendar month
    and ``subscription_start``.
    """
    now = _utc(now, "now")
    if period != "current_month" or month_reset != "billing_cycle" or subscription_start is None:
        if month_reset != "first_of_month":
            _check_month_reset(month_reset)
        if subscription_end is not None:
            _utc(subscription_end, "subscription_end")
        return _calendar_reset(period, now)
    anchor = _utc(subscription_start, "subscription_start")
    end = _utc(subscription_end, "subscription_end") if subscription_end is not None else None
    if anchor > now:
        return min(_next_month_start(now), anchor)
    reset = _anchor_in(now.year, now.month, anchor)
    if reset <= now:
        reset = _anchor_in(*_shift_month(now.year, now.month, 1), anchor)
    if end is not None and reset > end:
        return end
    return reset


def _check_month_reset(month_reset: str) -> None:
    """``ValueError`` for an unknown month reset."""
    if month_reset not in ("first_of_month", "billing_cycle"):
        raise ValueError(f"unknown month reset {month_reset!r}")

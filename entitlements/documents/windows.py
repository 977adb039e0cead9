"""The usage counter windows: which windows a counter is kept for, and where each one of them starts and ends at an
instant, given the company's billing period. Shared by capture (the window an event counts in), the compiler (the
counts a document carries) and the window-reset pushes, so all three agree. Pure."""

from __future__ import annotations

import datetime as dt

from catalog.models import MetricPeriod, MonthReset
from entitlements.engine.periods import window_reset_at, window_start

ALL_TIME_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""The window start of ``all_time`` counters (which never reset)."""

COUNTER_WINDOWS: tuple[tuple[str, str], ...] = (
    (MetricPeriod.CURRENT_DAY, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_WEEK, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_MONTH, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE),
    (MetricPeriod.ALL_TIME, MonthReset.FIRST_OF_MONTH),
)
"""Every window a counter is kept for, whatever the plans use today, so that a plan change finds its counter ready."""


def counter_window(
    period: str,
    reset: str,
    now: dt.datetime,
    *,
    period_start: dt.datetime | None,
    period_end: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime | None]:
    """The ``[start, end)`` of the window holding ``now`` (``end`` ``None``: it never ends); the billing period
    anchors billing-cycle months (none: calendar months)."""
    start = window_start(period, reset, now, period_start, period_end)
    end = window_reset_at(period, reset, now, period_start, period_end)
    return (start or ALL_TIME_START), end

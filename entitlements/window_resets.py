"""Window boundaries: pushing the reset metric values to connected SDKs when a metric window ends.

At midnight UTC (days), Sunday midnight (weeks), the 1st (calendar months) and each company's billing anchor
(billing-cycle months) a window ends and its count starts again from zero. REST checks see this by themselves (a
document is only valid until its next boundary), but an SDK holds the counts it was sent and never resets them
(PROTOCOL.md §3.8): the server must push the new values. Only companies whose count in an ended window was not zero
need one, so that is what is looked up, with one indexed query per kind of window.

``window_resets_push_due`` is run at each boundary — by the in-server scheduler on the embedded defaults, by a Celery
task that schedules itself for the boundary instants otherwise — and remembers how far it got, so a run that is late
or missed is caught up by the next one and a run twice over pushes nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.cache import cache

from catalog.models import MetricPeriod, MonthReset
from entitlements.broadcast import push_now
from entitlements.engine.periods import window_reset_at, window_start
from entitlements.models import Subscription, SubscriptionStatus, UsageCounter

_WATERMARK_KEY = "datastream:window-resets:until"
_FIRST_CATCH_UP = dt.timedelta(minutes=2)
_LONGEST_CATCH_UP = dt.timedelta(days=1)
# A billing-cycle window is at most a month long (31 days) and may have started before a period was shortened.
_BILLING_LOOKBACK = dt.timedelta(days=62)
_CALENDAR_WINDOWS = (
    (MetricPeriod.CURRENT_DAY, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_WEEK, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_MONTH, MonthReset.FIRST_OF_MONTH),
)


def _live_subscriptions(company_ids: Iterable[int]) -> dict[int, Subscription]:
    rows = Subscription.objects.filter(company_id__in=set(company_ids)).exclude(status=SubscriptionStatus.CANCELED)
    return {row.company_id: row for row in rows}


def _billing_window(
    moment: dt.datetime, subscription: Subscription | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    start, end = (subscription.current_period_start, subscription.current_period_end) if subscription else (None, None)
    return (
        window_start(MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE, moment, start, end),
        window_reset_at(MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE, moment, start, end),
    )


def _billing_counters(until: dt.datetime) -> list[UsageCounter]:
    return list(
        UsageCounter.objects.filter(
            period=MetricPeriod.CURRENT_MONTH,
            month_reset=MonthReset.BILLING_CYCLE,
            value__gt=0,
            window_start__gt=until - _BILLING_LOOKBACK,
            window_start__lte=until,
        ).only("company_id", "window_start")
    )


def companies_with_windows_ended(*, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The companies with a non-zero count in a window that ended in ``(since, until]``."""
    ended: set[int] = set()
    for period, reset in _CALENDAR_WINDOWS:
        first, last = window_start(period, reset, since), window_start(period, reset, until)
        if first != last:  # the windows that started in [first, last) have ended
            ended.update(
                UsageCounter.objects.filter(
                    period=period, month_reset=reset, value__gt=0, window_start__gte=first, window_start__lt=last
                ).values_list("company_id", flat=True)
            )
    counters = _billing_counters(until)
    subscriptions = _live_subscriptions(row.company_id for row in counters)
    for row in counters:
        subscription = subscriptions.get(row.company_id)
        first, last = _billing_window(since, subscription)[0], _billing_window(until, subscription)[0]
        if first is not None and last is not None and first <= row.window_start < last:
            ended.add(row.company_id)
    return ended


def next_window_boundary(*, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` at which a window with a non-zero count ends (midnight UTC at the latest)."""
    midnight = window_reset_at(MetricPeriod.CURRENT_DAY, MonthReset.FIRST_OF_MONTH, after)
    assert midnight is not None
    boundaries = [midnight]
    counters = _billing_counters(after)
    subscriptions = _live_subscriptions(row.company_id for row in counters)
    for row in counters:
        start, end = _billing_window(after, subscriptions.get(row.company_id))
        if start == row.window_start and end is not None and end > after:
            boundaries.append(end)
    return min(boundaries)


def window_resets_push(*, since: dt.datetime, until: dt.datetime) -> int:
    """Push the usage of every company whose window ended in ``(since, until]``, as of ``until``; how many."""
    companies = sorted(companies_with_windows_ended(since=since, until=until))
    push_now([("company", company_id, "usage", None) for company_id in companies], at=until)
    return len(companies)


def window_resets_push_due(*, now: dt.datetime) -> int:
    """Push the resets of the windows that ended since the last run (or in the last minutes, on a first run)."""
    watermark = cache.get(_WATERMARK_KEY)
    since = dt.datetime.fromisoformat(watermark) if watermark else now - _FIRST_CATCH_UP
    since = max(since, now - _LONGEST_CATCH_UP)
    if since >= now:
        return 0
    pushed = window_resets_push(since=since, until=now)
    cache.set(_WATERMARK_KEY, now.isoformat(), timeout=None)
    return pushed

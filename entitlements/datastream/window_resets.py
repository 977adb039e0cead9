"""Window boundaries: pushing the reset metric values to connected SDKs when a metric window ends — and, likewise,
the documents that change by the clock alone (an override or a credit grant that expires, a grant that starts).

At midnight UTC (days), Sunday midnight (weeks), the 1st (calendar months) and each company's billing anchor
(billing-cycle months) a window ends and its count starts again from zero. REST checks see this by themselves (a
document is only valid until its next boundary), but an SDK holds the counts it was sent and never resets them
(PROTOCOL.md §3.8): the server must push the new values. Only companies whose count in an ended window was not zero
need one, so that is what is looked up, with one indexed query per kind of window.

``window_resets_push_due`` is run at each boundary — by the in-server scheduler on the embedded defaults, by a Celery
task that schedules itself for the boundary instants otherwise — and remembers how far it got, so a run that is late
or missed is caught up by the next one and a run twice over pushes nothing new. An override or credit grant that ends
(or a grant that starts) makes the company's document change at that instant too; its SDK holders get the whole
document then, rather than when the minutely job marks the override expired.
"""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache

from catalog.models import MetricPeriod, MonthReset
from credits.selectors import credit_grant_companies_changing, credit_grant_next_change_any
from entitlements.datastream.broadcast import Item, push_now
from entitlements.datastream.messages import PushChange, PushEntity
from entitlements.documents.windows import COUNTER_WINDOWS
from entitlements.engine.periods import window_reset_at, window_start
from entitlements.models import Subscription, UsageCounter
from entitlements.selectors import (
    override_companies_ending,
    override_next_expiry,
    subscriptions_live_by_company,
    usage_counter_companies_nonzero,
    usage_counters_nonzero_started,
)

_WATERMARK_KEY = "datastream:window-resets:until"
_FIRST_CATCH_UP = dt.timedelta(minutes=2)
_LONGEST_CATCH_UP = dt.timedelta(days=1)
# A billing-cycle window is at most a month long (31 days) and may have started before a period was shortened.
_BILLING_LOOKBACK = dt.timedelta(days=62)
# The counters' windows that end at the same instant for every company (billing cycles are per company).
_CALENDAR_WINDOWS = tuple(
    (period, reset)
    for period, reset in COUNTER_WINDOWS
    if period != MetricPeriod.ALL_TIME and reset != MonthReset.BILLING_CYCLE
)


def _billing_window(
    moment: dt.datetime, subscription: Subscription | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    start, end = (subscription.current_period_start, subscription.current_period_end) if subscription else (None, None)
    return (
        window_start(MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE, moment, start, end),
        window_reset_at(MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE, moment, start, end),
    )


def _billing_counters(until: dt.datetime) -> list[UsageCounter]:
    return usage_counters_nonzero_started(
        period=MetricPeriod.CURRENT_MONTH,
        month_reset=MonthReset.BILLING_CYCLE,
        after=until - _BILLING_LOOKBACK,
        until=until,
    )


def companies_with_windows_ended(*, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The companies with a non-zero count in a window that ended in ``(since, until]``."""
    ended: set[int] = set()
    for period, reset in _CALENDAR_WINDOWS:
        first, last = window_start(period, reset, since), window_start(period, reset, until)
        if first is not None and last is not None and first != last:  # the windows started in [first, last) ended
            ended |= usage_counter_companies_nonzero(
                period=period, month_reset=reset, window_from=first, window_before=last
            )
    counters = _billing_counters(until)
    subscriptions = subscriptions_live_by_company(company_ids=(row.company_id for row in counters))
    for row in counters:
        subscription = subscriptions.get(row.company_id)
        first, last = _billing_window(since, subscription)[0], _billing_window(until, subscription)[0]
        if first is not None and last is not None and first <= row.window_start < last:
            ended.add(row.company_id)
    return ended


def companies_with_documents_turning(*, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The companies whose document changes by the clock in ``(since, until]``: an override or a credit grant that
    ends, or a credit grant that starts."""
    return override_companies_ending(since=since, until=until) | credit_grant_companies_changing(
        since=since, until=until
    )


def next_window_boundary(*, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` at which a window with a non-zero count ends, or a document changes by the
    clock (midnight UTC at the latest)."""
    midnight = window_reset_at(MetricPeriod.CURRENT_DAY, MonthReset.FIRST_OF_MONTH, after)
    assert midnight is not None
    boundaries = [midnight]
    for instant in (override_next_expiry(after=after), credit_grant_next_change_any(after=after)):
        if instant is not None:
            boundaries.append(instant)
    counters = _billing_counters(after)
    subscriptions = subscriptions_live_by_company(company_ids=(row.company_id for row in counters))
    for row in counters:
        start, end = _billing_window(after, subscriptions.get(row.company_id))
        if start == row.window_start and end is not None and end > after:
            boundaries.append(end)
    return min(boundaries)


def window_resets_push(*, since: dt.datetime, until: dt.datetime) -> int:
    """Push, as of ``until``, the usage of every company whose window ended in ``(since, until]`` and the whole
    document of every company whose document changed by the clock then; how many companies."""
    turning = companies_with_documents_turning(since=since, until=until)
    reset = companies_with_windows_ended(since=since, until=until) - turning  # a document push carries the usage too
    items: list[Item] = [(PushEntity.COMPANY, company_id, PushChange.DOCUMENT, None) for company_id in sorted(turning)]
    items += [(PushEntity.COMPANY, company_id, PushChange.USAGE, None) for company_id in sorted(reset)]
    push_now(items, at=until)
    return len(items)


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

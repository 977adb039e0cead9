"""Recording usage: events appended to the log and the window counters moved in the same transaction.

Counters are upserted atomically in SQL (``value = GREATEST(0, value + delta)``), one statement per counter, so
concurrent writers never lose an update and a correction never takes a counter below zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from entitlements.compiler import ALL_TIME_START, COUNTER_WINDOWS
from entitlements.engine.periods import window_start
from entitlements.models import Subscription, SubscriptionStatus, UsageCounter


@dataclass(frozen=True, slots=True)
class UsageDelta:
    """Units of one event for one company at one instant (negative for a correction)."""

    company_id: int
    event_name: str
    quantity: int
    occurred_at: dt.datetime


CounterKey = tuple[int, str, str, str, dt.datetime]  # company, event, period, month reset, window start


def usage_counter_deltas(deltas: Iterable[UsageDelta]) -> dict[CounterKey, int]:
    """Sum the deltas per counter window (every window kept: day, week, both month resets, all time).

    Billing-cycle months follow each company's live subscription anchor. Reads the subscriptions in one query.
    """
    deltas = list(deltas)
    company_ids = {delta.company_id for delta in deltas}
    periods = {
        sub.company_id: (sub.current_period_start, sub.current_period_end)
        for sub in Subscription.objects.filter(company_id__in=company_ids).exclude(status=SubscriptionStatus.CANCELED)
    }
    totals: dict[CounterKey, int] = defaultdict(int)
    for delta in deltas:
        anchor_start, anchor_end = periods.get(delta.company_id, (None, None))
        for period, reset in COUNTER_WINDOWS:
            start = window_start(period, reset, delta.occurred_at, anchor_start, anchor_end) or ALL_TIME_START
            totals[(delta.company_id, delta.event_name, period, reset, start)] += delta.quantity
    return dict(totals)


def usage_counters_apply(totals: dict[CounterKey, int]) -> None:
    """Add each total to its counter (created at ``max(0, total)`` if new), never below zero. In the caller's
    transaction; counters are touched in a fixed order so concurrent batches cannot deadlock."""
    if not totals:
        return
    table = UsageCounter._meta.db_table
    floor = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    sql = (
        f"INSERT INTO {table} (company_id, event_name, period, month_reset, window_start, value, updated_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (company_id, event_name, period, month_reset, window_start) "
        f"DO UPDATE SET value = {floor}(0, {table}.value + %s), updated_at = excluded.updated_at"
    )
    # Raw SQL bypasses the ORM's value conversion: adapt datetimes as the ORM stores them (SQLite compares text).
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    rows = [
        (company_id, event, period, reset, adapt(start), max(0, total), now, total)
        for (company_id, event, period, reset, start), total in sorted(totals.items())
        if total != 0
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)

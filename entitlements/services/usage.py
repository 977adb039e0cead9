"""Recording usage: events appended to the log and the window counters moved in the same transaction.

Counters are upserted atomically in SQL (``value = GREATEST(0, value + delta)``), one statement per counter, so
concurrent writers never lose an update and a correction never takes a counter below zero.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from entitlements.documents.windows import ALL_TIME_START, COUNTER_WINDOWS
from entitlements.engine.periods import window_start
from entitlements.models import Subscription, SubscriptionStatus, UsageCounter, UsageEvent


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
    # Sum per instant first: the events of a batch mostly share the server's receipt time, so the windows of each
    # (company, instant) are computed once rather than per event.
    by_instant: dict[tuple[int, str, dt.datetime], int] = defaultdict(int)
    for delta in deltas:
        by_instant[(delta.company_id, delta.event_name, delta.occurred_at)] += delta.quantity
    windows: dict[tuple[int, dt.datetime], list[tuple[str, str, dt.datetime]]] = {}
    totals: dict[CounterKey, int] = defaultdict(int)
    for (company_id, event_name, occurred_at), quantity in by_instant.items():
        found = windows.get((company_id, occurred_at))
        if found is None:
            anchor_start, anchor_end = periods.get(company_id, (None, None))
            found = windows[(company_id, occurred_at)] = [
                (period, reset, window_start(period, reset, occurred_at, anchor_start, anchor_end) or ALL_TIME_START)
                for period, reset in COUNTER_WINDOWS
            ]
        for period, reset, start in found:
            totals[(company_id, event_name, period, reset, start)] += quantity
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


@dataclass(frozen=True, slots=True)
class NewUsageEvent:
    """A track event ready to append."""

    company_id: int
    user_id: int | None
    event_name: str
    quantity: int
    occurred_at: dt.datetime
    idempotency_key: str | None
    traits: dict[str, Any] | None


_EVENT_COLUMNS = ("company_id", "user_id", "event_name", "quantity", "occurred_at", "received_at", "idempotency_key",
                  "traits")  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredUsageEvent:
    """An appended event and its row id (what credit burns link to)."""

    id: int
    event: NewUsageEvent


def usage_events_append(events: list[NewUsageEvent], *, received_at: dt.datetime) -> list[StoredUsageEvent]:
    """Append the events in one statement; return those actually stored, with their ids.

    An event whose ``idempotency_key`` is already stored — by an earlier batch, or by a concurrent one that commits
    first (the database makes this statement wait for it) — is skipped: ``ON CONFLICT DO NOTHING``, so a repeated key
    counts once, forever, without a read-then-write race.
    """
    if not events:
        return []
    sql, params = (_append_postgresql if connection.vendor == "postgresql" else _append_portable)(events, received_at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    # RETURNING gives no order: pair rows and events by their key, or by their content (identical events are
    # interchangeable for this purpose).
    by_key = {key: row_id for row_id, key, *_ in returned if key is not None}
    by_content: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row_id, key, company_id, event_name, quantity in returned:
        if key is None:
            by_content[(company_id, event_name, quantity)].append(row_id)
    stored = []
    for event in events:
        if event.idempotency_key is not None:
            if event.idempotency_key in by_key:
                stored.append(StoredUsageEvent(by_key[event.idempotency_key], event))
        else:
            stored.append(
                StoredUsageEvent(by_content[(event.company_id, event.event_name, event.quantity)].pop(), event)
            )
    return stored


_CONFLICT = (
    "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
    "RETURNING id, idempotency_key, company_id, event_name, quantity"
)


def _append_postgresql(events: list[NewUsageEvent], received_at: dt.datetime) -> tuple[str, list[Any]]:
    """One short, constant statement whatever the batch size: columns travel as arrays and are ``unnest``-ed."""
    sql = (
        f"INSERT INTO {UsageEvent._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) "
        "SELECT c, u, e, q, o, r, k, t::jsonb FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], "
        "%s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[]) AS batch(c, u, e, q, o, r, k, t) " + _CONFLICT
    )
    params: list[Any] = [
        [event.company_id for event in events],
        [event.user_id for event in events],
        [event.event_name for event in events],
        [event.quantity for event in events],
        [event.occurred_at for event in events],
        [received_at] * len(events),
        [event.idempotency_key for event in events],
        [json.dumps(event.traits) if event.traits is not None else None for event in events],
    ]
    return sql, params


def _append_portable(events: list[NewUsageEvent], received_at: dt.datetime) -> tuple[str, list[Any]]:
    """A multi-row ``VALUES`` statement, values converted as the ORM would (SQLite stores datetimes as text)."""
    occurred_field = UsageEvent._meta.get_field("occurred_at")
    traits_field = UsageEvent._meta.get_field("traits")
    received = occurred_field.get_db_prep_save(received_at, connection)
    params: list[Any] = []
    for event in events:
        params += [
            event.company_id,
            event.user_id,
            event.event_name,
            event.quantity,
            occurred_field.get_db_prep_save(event.occurred_at, connection),
            received,
            event.idempotency_key,
            traits_field.get_db_prep_save(event.traits, connection),
        ]
    row = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    rows = ", ".join([row] * len(events))
    return f"INSERT INTO {UsageEvent._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) VALUES {rows} {_CONFLICT}", params

"""Recording a capture batch from the SDKs (``POST /batch``): identify, track and flag_check events.

Every event is parsed on its own (``entitlements.sdk.capture_events``); valid ones are written in one transaction —
events appended, counters moved by one atomic upsert each, flag-check analytics upserted — and invalid ones are
reported back. A repeated ``idempotency_key`` counts once, forever: the append skips keys already stored, including by
a concurrent batch (``usage_events_append``), and only stored events move the counters.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from core.actors import Actor
from core.errors import DomainError
from core.events import event_emit
from entitlements.events import UsageRecorded
from entitlements.models import FlagCheckRecord
from entitlements.selectors import company_ids_for_keys, user_ids_for_keys
from entitlements.services.companies import company_identify
from entitlements.services.credit_usage import credit_usage_burn
from entitlements.services.usage import (
    NewUsageEvent,
    UsageDelta,
    usage_counter_deltas,
    usage_counters_apply,
    usage_events_append,
)
from entitlements.services.users import user_identify

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdentifyEvent:
    """Identify: create or update the user and company these keys name (``entitlements.sdk.capture_events`` parses
    the wire form into these)."""

    user_keys: dict[str, str]
    user_name: str | None
    user_traits: dict[str, Any]
    company_keys: dict[str, str]
    company_name: str | None
    company_traits: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrackEvent:
    """Track: ``quantity`` of ``event_name`` used by the company these keys name."""

    event_name: str
    company_keys: dict[str, str]
    user_keys: dict[str, str]
    quantity: int
    traits: dict[str, Any] | None
    occurred_at: dt.datetime
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class FlagCheckEvent:
    """A flag check the SDK answered: kept as analytics (the last answer and a count per company and flag)."""

    flag_key: str
    value: bool
    reason: str
    company_id: str
    occurred_at: dt.datetime


ParsedEvent = IdentifyEvent | TrackEvent | FlagCheckEvent


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    event_type: str
    error: str


@dataclass(slots=True)
class BatchOutcome:
    """What became of a batch: how many events were stored, skipped as repeats, or rejected and why."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _identify(event: IdentifyEvent, *, actor: Actor, now: dt.datetime) -> None:
    company = None
    if event.company_keys:
        company = company_identify(
            actor=actor, keys=event.company_keys, name=event.company_name, traits=event.company_traits, now=now
        )
    if event.user_keys:
        user_identify(
            actor=actor, keys=event.user_keys, name=event.user_name, traits=event.user_traits, company=company
        )


def _resolve(keys: dict[str, str], found: dict[tuple[str, str], int]) -> set[int]:
    return {found[pair] for name, value in keys.items() if (pair := (name.lower(), value.lower())) in found}


def _record_tracks(
    tracks: list[tuple[int, TrackEvent]], *, outcome: BatchOutcome, actor: Actor, received_at: dt.datetime
) -> list[UsageRecorded]:
    """Append the track events and move the counters; returns what was recorded, per company (in company order)."""
    company_of = company_ids_for_keys(pair for _, event in tracks for pair in event.company_keys.items())
    user_of = user_ids_for_keys(pair for _, event in tracks for pair in event.user_keys.items())
    candidates: list[NewUsageEvent] = []
    keys_in_batch: set[str] = set()
    for index, event in tracks:
        companies = _resolve(event.company_keys, company_of)
        if len(companies) != 1:
            problem = "no company has these keys" if not companies else "these keys identify different companies"
            outcome.rejected.append(Rejection(index, "track", f"body.company: {problem}"))
            continue
        if event.idempotency_key is not None:
            if event.idempotency_key in keys_in_batch:
                outcome.duplicates += 1
                continue
            keys_in_batch.add(event.idempotency_key)
        users = _resolve(event.user_keys, user_of)
        candidates.append(
            NewUsageEvent(
                company_id=companies.pop(),
                user_id=users.pop() if len(users) == 1 else None,
                event_name=event.event_name,
                quantity=event.quantity,
                occurred_at=event.occurred_at,
                idempotency_key=event.idempotency_key,
                traits=event.traits,
            )
        )
    stored = usage_events_append(candidates, received_at=received_at)
    outcome.duplicates += len(candidates) - len(stored)
    outcome.accepted += len(stored)
    usage_counters_apply(
        usage_counter_deltas(
            UsageDelta(row.event.company_id, row.event.event_name, row.event.quantity, row.event.occurred_at)
            for row in stored
        )
    )
    credit_usage_burn(stored, actor=actor, now=received_at)
    recorded: dict[int, list[str]] = {}
    for row in stored:
        recorded.setdefault(row.event.company_id, []).append(row.event.event_name)
    return [
        UsageRecorded(company_id=company_id, events=len(names), event_names=frozenset(names))
        for company_id, names in sorted(recorded.items())
    ]


def _record_flag_checks(checks: list[FlagCheckEvent]) -> None:
    """Upsert the last check of each (company, flag) and count the checks."""
    latest: dict[tuple[str, str], tuple[FlagCheckEvent, int]] = {}
    for check in checks:
        key = (check.company_id, check.flag_key)
        previous = latest.get(key)
        count = previous[1] + 1 if previous else 1
        newer = previous is None or check.occurred_at >= previous[0].occurred_at
        latest[key] = (check if newer else previous[0], count)  # type: ignore[index]
    if not latest:
        return
    table = FlagCheckRecord._meta.db_table
    sql = (
        f"INSERT INTO {table} (company_public_id, flag_key, last_checked_at, last_value, last_reason, check_count) "
        f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (company_public_id, flag_key) DO UPDATE SET "
        f"check_count = {table}.check_count + excluded.check_count, "
        f"last_checked_at = CASE WHEN excluded.last_checked_at >= {table}.last_checked_at "
        f"THEN excluded.last_checked_at ELSE {table}.last_checked_at END, "
        f"last_value = CASE WHEN excluded.last_checked_at >= {table}.last_checked_at "
        f"THEN excluded.last_value ELSE {table}.last_value END, "
        f"last_reason = CASE WHEN excluded.last_checked_at >= {table}.last_checked_at "
        f"THEN excluded.last_reason ELSE {table}.last_reason END"
    )
    rows = [
        (company, flag, connection.ops.adapt_datetimefield_value(check.occurred_at), check.value, check.reason, count)
        for (company, flag), (check, count) in sorted(latest.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def capture_batch_record(*, parsed: Sequence[tuple[int, ParsedEvent]], actor: Actor, now: dt.datetime) -> BatchOutcome:
    """Write the parsed events of one batch (each with its index in the batch) in one transaction; a bad identify is
    rejected alone (a savepoint), a track whose keys name no single company is rejected. Committed on return."""
    outcome = BatchOutcome()
    tracks: list[tuple[int, TrackEvent]] = []
    checks: list[FlagCheckEvent] = []
    with transaction.atomic():
        for index, event in parsed:
            if isinstance(event, IdentifyEvent):
                try:
                    with transaction.atomic():  # a savepoint: one bad identify leaves the others standing
                        _identify(event, actor=actor, now=now)
                    outcome.accepted += 1
                except DomainError as error:
                    detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.fields.items())
                    outcome.rejected.append(Rejection(index, "identify", detail or error.message))
            elif isinstance(event, TrackEvent):
                tracks.append((index, event))
            else:
                checks.append(event)
        recorded = _record_tracks(tracks, outcome=outcome, actor=actor, received_at=now) if tracks else []
        _record_flag_checks(checks)
        outcome.accepted += len(checks)
        event_emit(*recorded)
    return outcome

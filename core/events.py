"""Domain events: services say what happened; subscribers hear it once per committed transaction.

A service emits events inside its transaction (``event_emit``); they are typed, frozen records of what happened
(``OverrideGranted(company_id=7, …)``), carrying ids and small values, never rows. The promise to subscribers:

* **after commit only**: a subscriber registered with ``events_subscribe`` is called after the transaction that
  emitted the events commits, never for a transaction that rolled back, and never for events emitted inside a
  savepoint that rolled back (the rest of the transaction's events are still delivered);
* **once per transaction, batched**: one call per subscriber and committed transaction, with that transaction's
  events of the types the subscriber asked for, in the order they were emitted (no call when none matched);
* **in commit order**: a thread's transactions reach subscribers in the order they committed, each before the
  committing call returns; outside a transaction an emitted event is delivered at once;
* **in registration order**: subscribers are called in the order they subscribed; one that raises is logged and
  the others are still called (the transaction has committed: nothing can undo it).

Apps subscribe in their ``AppConfig.ready()``, so a lower app (``entitlements``, ``credits``, ``catalog``) never
imports the apps that react to it (``billing_sync``, ``portal``, webhooks). ``events_subscribe_at_emit`` is the
narrow exception for what cannot wait for the commit: making caches stale for the writer's own reads, or reading the
last state of something about to be deleted. Such a subscriber runs inside the transaction, at each emit, and must
be harmless if the transaction then rolls back.

The event types live with the app whose services emit them (``entitlements.events``, ``credits.events``,
``catalog.events``); the two base classes live here so that every app can name them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from core.transactions import OnCommitBatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """The base of every domain event."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyEvent(DomainEvent):
    """Something happened to one company (by its internal id). ``ASPECTS`` names what of the company it touches:
    ``traits``, ``keys``, ``profile``, ``plan``, ``overrides``, ``usage``, ``credits`` — the parts of its documents
    that changed."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset()
    company_id: int

    def aspects(self) -> frozenset[str]:
        """What of the company this event changed (see ``ASPECTS``)."""
        return self.ASPECTS


Subscriber = Callable[[Sequence[DomainEvent]], None]


@dataclass(frozen=True, slots=True)
class _Subscription:
    subscriber: Subscriber
    types: tuple[type[DomainEvent], ...]

    def matching(self, events: Sequence[DomainEvent]) -> list[DomainEvent]:
        return [event for event in events if isinstance(event, self.types)]


_committed: list[_Subscription] = []
_at_emit: list[_Subscription] = []


def _subscribe(registry: list[_Subscription], subscriber: Subscriber, types: Sequence[type[DomainEvent]]) -> None:
    subscription = _Subscription(subscriber, tuple(types) or (DomainEvent,))
    if subscription not in registry:  # ready() may run more than once (tests, autoreload): subscribe once
        registry.append(subscription)


def events_subscribe(subscriber: Subscriber, *, types: Sequence[type[DomainEvent]] = ()) -> None:
    """Call ``subscriber`` after every committed transaction that emitted events of ``types`` (subclasses included;
    empty: every event) with those events, in emission order. Subscribe once, from ``AppConfig.ready()``."""
    _subscribe(_committed, subscriber, types)


def events_subscribe_at_emit(subscriber: Subscriber, *, types: Sequence[type[DomainEvent]] = ()) -> None:
    """Call ``subscriber`` inside the transaction, at each ``event_emit`` of events of ``types``. Only for what
    cannot wait for the commit (see the module docstring); it must be harmless if the transaction rolls back, and
    what it raises fails the emitting service."""
    _subscribe(_at_emit, subscriber, types)


def events_unsubscribe(subscriber: Subscriber) -> None:
    """Stop calling ``subscriber`` (both kinds)."""
    for registry in (_committed, _at_emit):
        registry[:] = [subscription for subscription in registry if subscription.subscriber != subscriber]


def _deliver(events: list[DomainEvent]) -> None:
    for subscription in list(_committed):
        matching = subscription.matching(events)
        if not matching:
            continue
        try:
            subscription.subscriber(matching)
        except Exception:  # committed already; the other subscribers must still hear of it
            logger.exception("event subscriber %r failed on %d events", subscription.subscriber, len(matching))


_after_commit: OnCommitBatch[DomainEvent] = OnCommitBatch(_deliver)


def event_emit(*events: DomainEvent) -> None:
    """Record that ``events`` happened in the current transaction: at-emit subscribers hear of them now, the others
    once it commits (at once outside a transaction). Only services emit."""
    if not events:
        return
    for subscription in list(_at_emit):
        matching = subscription.matching(events)
        if matching:
            subscription.subscriber(matching)
    _after_commit.add(events)

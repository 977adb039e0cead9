"""Telling every connected SDK about changes: after commit, coalesced, through the channel layer.

Services emit domain events; after commit, ``push_for_events`` (a subscriber, ``core.events``) turns those of one
transaction into pushes (deletions are read at emit, ``push_deleted_at_emit``). Each change is *marked*, and marks are
flushed as one event to the channel-layer group ``datastream``, which each web process's hub joins
(``entitlements.datastream.hub``; Redis in production). A flush happens at once (1 ms, so one commit's marks leave
together) when nothing was flushed in the last ``DATASTREAM_COALESCE_SECONDS`` (50 ms), otherwise as soon as that
interval has passed: a burst of capture batches sends at most one push per entity per interval, and the last change is
never lost, because the event names entities, not values. Each web process renders a pushed entity once, from the state
it finds when the event arrives (``entitlements.datastream.consumers``), so a connection never receives an older state
after a newer one.

Marks and flushes live on the event loop that serves this process's WebSockets (registered by the ASGI application),
so the in-memory channel layer is only ever used from its own loop. A process without one (a Celery worker, a
management command) runs a loop of its own in a daemon thread, with the same coalescing, drained at exit.

A revoked API key loses its connections through the same group (``close_revoked_keys``): the event is sent at once,
not coalesced, and the subscriber returns only once it is on the channel layer, so every push sent afterwards reaches
each process's hub behind it.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from catalog.events import CatalogChanged
from core.events import CompanyEvent, DomainEvent
from core.transactions import OnCommitBatch
from entitlements.datastream.messages import CHANGE_RANK, PushChange, PushEntity, company_document, user_document
from entitlements.events import (
    DOCUMENT_ASPECTS,
    USAGE_ASPECTS,
    ApiKeyRevoked,
    CompanyChanged,
    CompanyDeleted,
    UserChanged,
    UserDeleted,
)

logger = logging.getLogger(__name__)

GROUP = "datastream"
"""The channel-layer group each web process's hub joins."""
PUSH_EVENT = "datastream.push"
"""The event type of a push (received by each web process's hub, ``entitlements.datastream.hub``)."""
KEYS_REVOKED_EVENT = "datastream.keys_revoked"
"""The event type telling each web process's hub to close the connections of the API keys it names."""

# One change: (entity, id, change, last document). The entity is "flags" (id 0), "company" or "user"; the last
# document is only carried for "deleted" (nothing is left to read it from afterwards).
Item = tuple[str, int, str, dict[str, Any] | None]


def push_event(items: Iterable[Item], *, at: dt.datetime | None = None) -> dict[str, Any]:
    """The channel-layer event announcing ``items``; ``at`` makes renderers read the state as of that instant (a
    window boundary) when it is later than their clock."""
    return {
        "type": PUSH_EVENT,
        "id": secrets.token_hex(8),
        "items": [list(item) for item in items],
        "at": at.isoformat() if at is not None else None,
    }


class _LoopCoalescer:
    """The pending changes of one event loop, flushed on it (see the module docstring). Only used from its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: dict[tuple[str, int], Item] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = float("-inf")
        self._sending: set[asyncio.Task[None]] = set()
        self._scheduled = 0  # marks handed to the loop from other threads and not yet run there
        self._scheduled_lock = threading.Lock()

    def usable(self) -> bool:
        return self.loop.is_running() and not self.loop.is_closed()

    def mark(self, items: list[Item]) -> None:
        """From any thread."""
        if _running_loop() is self.loop:
            self._mark_in_loop(items)
        else:
            with self._scheduled_lock:
                self._scheduled += 1  # busy from now on, not only once the loop has run the mark
            self.loop.call_soon_threadsafe(self._mark_scheduled, items)

    def _mark_scheduled(self, items: list[Item]) -> None:
        try:
            self._mark_in_loop(items)
        finally:
            with self._scheduled_lock:
                self._scheduled -= 1

    def _mark_in_loop(self, items: list[Item]) -> None:
        for item in items:
            key = (item[0], item[1])
            held = self._pending.get(key)
            if held is None or CHANGE_RANK[item[2]] >= CHANGE_RANK[held[2]]:
                self._pending[key] = item
        if self._flush_handle is None:
            since_last = self.loop.time() - self._last_flush
            delay = max(_LEADING_DELAY_SECONDS, settings.DATASTREAM_COALESCE_SECONDS - since_last)
            self._flush_handle = self.loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        self._last_flush = self.loop.time()
        items, self._pending = list(self._pending.values()), {}
        if items:
            self.send(push_event(items))

    def send(self, event: dict[str, Any]) -> None:
        task = self.loop.create_task(_send(event))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def busy(self) -> bool:
        return bool(self._scheduled or self._pending or self._flush_handle is not None or self._sending)

    async def drain(self) -> None:
        """Flush what is pending and wait for every send (at process exit)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=5)


# The marks of one commit arrive microseconds apart (its event subscriber's, and the deletions read at emit): the first
# flush after an idle spell waits this long, so they leave as one event.
_LEADING_DELAY_SECONDS = 0.001


class _Coalescer:
    """Chooses the loop marks are flushed on: the ASGI server's in a web process; elsewhere (a Celery worker, a
    management command) a loop of its own in a daemon thread, drained when the process exits."""

    def __init__(self) -> None:
        self.serving: _LoopCoalescer | None = None
        self._own: _LoopCoalescer | None = None
        self._own_lock = threading.Lock()

    def serve_on(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.serving is None or self.serving.loop is not loop:
            self.serving = _LoopCoalescer(loop)

    def current(self) -> _LoopCoalescer:
        serving = self.serving
        if serving is not None and serving.usable():
            return serving
        with self._own_lock:
            if self._own is None or not self._own.usable():
                self._own = self._start_own()
            return self._own

    @staticmethod
    def _start_own() -> _LoopCoalescer:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        loop.call_soon(started.set)
        threading.Thread(target=loop.run_forever, name="datastream-pushes", daemon=True).start()
        started.wait(timeout=5)
        own = _LoopCoalescer(loop)
        atexit.register(_drain_at_exit, own)
        return own

    def busy(self) -> bool:
        return any(part is not None and part.busy() for part in (self.serving, self._own))


def _drain_at_exit(own: _LoopCoalescer) -> None:
    """Send what a worker or command process still holds before it exits."""
    if not own.usable():
        return
    try:
        asyncio.run_coroutine_threadsafe(own.drain(), own.loop).result(timeout=10)
    except Exception:  # exiting anyway: say what was lost
        logger.exception("datastream pushes pending at exit were not all sent")


_coalescer = _Coalescer()


def pushes_in_flight() -> bool:
    """Whether changes of this process are still waiting to be flushed or sent (a test waits for quiet)."""
    return _coalescer.busy()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _send(event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(GROUP, event)
    except Exception:  # a failed push must not fail anything else; SDKs reconcile on their next request
        logger.exception("datastream event %s failed", event["type"])


def serving_loop_set(loop: asyncio.AbstractEventLoop) -> None:
    """Flush this process's pushes on ``loop`` (the ASGI server's), from now on."""
    _coalescer.serve_on(loop)


_after_commit: OnCommitBatch[Item] = OnCommitBatch(lambda items: _coalescer.current().mark(items))


def push_on_commit(entity: str, entity_id: int, change: str, last_document: dict[str, Any] | None = None) -> None:
    """After the current transaction commits, tell every connected SDK that the entity changed (coalesced: all the
    pushes of one transaction leave together, the strongest change of each entity)."""
    _after_commit.add([(entity, entity_id, change, last_document)])


def push_now(items: list[Item], *, at: dt.datetime | None = None) -> None:
    """Tell every connected SDK about ``items`` in one event, now and without coalescing (scheduled pushes); returns
    once the event is on the channel layer."""
    if items:
        _send_now(push_event(items, at=at))


def _send_now(event: dict[str, Any]) -> None:
    """Send ``event`` to the group from this process's loop; returns once it is on the channel layer (at once when
    called on that loop, which must not block)."""
    target = _coalescer.current()
    if _running_loop() is target.loop:
        target.send(event)
    else:
        asyncio.run_coroutine_threadsafe(_send(event), target.loop).result(timeout=30)


def push_for_events(events: Sequence[DomainEvent]) -> None:
    """Subscriber, after commit: tell connected SDKs what the events changed. A catalog change → a new flag
    snapshot; a company event → its usage and credit balances when that is all it changed, else its whole document
    (a removed key: a delete, so holders ask again); a user event → its document. Deletions were pushed at emit
    (``push_deleted_at_emit``). Events that change nothing documents carry push nothing."""
    items: list[Item] = []
    for event in events:
        if isinstance(event, CatalogChanged):
            items.append((PushEntity.FLAGS, 0, PushChange.DOCUMENT, None))
        elif isinstance(event, CompanyDeleted | UserDeleted):
            continue
        elif isinstance(event, CompanyEvent) and (aspects := event.aspects() & DOCUMENT_ASPECTS):
            if isinstance(event, CompanyChanged) and event.keys_removed:
                change = PushChange.REKEYED
            else:
                change = PushChange.USAGE if aspects <= USAGE_ASPECTS else PushChange.DOCUMENT
            items.append((PushEntity.COMPANY, event.company_id, change, None))
        elif isinstance(event, UserChanged):
            change = PushChange.REKEYED if event.keys_removed else PushChange.DOCUMENT
            items.append((PushEntity.USER, event.user_id, change, None))
    if items:
        _coalescer.current().mark(items)


def push_deleted_at_emit(events: Sequence[DomainEvent]) -> None:
    """Subscriber, at emit: a company or user about to be deleted is dropped by SDKs after commit. The delete carries
    its complete last document, read now, while its rows still exist."""
    for event in events:
        if isinstance(event, CompanyDeleted):
            last = company_document(event.company_id, now=timezone.now())
            push_on_commit(PushEntity.COMPANY, event.company_id, PushChange.DELETED, last)
        elif isinstance(event, UserDeleted):
            push_on_commit(PushEntity.USER, event.user_id, PushChange.DELETED, user_document(event.user_id))


def keys_revoked_event(api_key_ids: Iterable[int]) -> dict[str, Any]:
    """The channel-layer event closing every connection of ``api_key_ids``."""
    return {"type": KEYS_REVOKED_EVENT, "api_key_ids": sorted(set(api_key_ids))}


def close_revoked_keys(events: Sequence[DomainEvent]) -> None:
    """Subscriber, after commit: close every datastream connection of the revoked keys, in every web process
    (``entitlements.datastream.hub``); the connections send nothing more. Returns once the event is on the channel
    layer, so a push of any change committed after the revocation reaches each process after it. A channel layer that
    cannot be reached is logged, like a push: reconnects are refused at the handshake all the same."""
    api_key_ids = [event.api_key_id for event in events if isinstance(event, ApiKeyRevoked)]
    if api_key_ids:
        _send_now(keys_revoked_event(api_key_ids))


PUSH_EVENTS = (CatalogChanged, CompanyEvent, UserChanged)
"""The events ``push_for_events`` reacts to."""
DELETION_EVENTS = (CompanyDeleted, UserDeleted)
"""The events ``push_deleted_at_emit`` reacts to."""
REVOCATION_EVENTS = (ApiKeyRevoked,)
"""The events ``close_revoked_keys`` reacts to."""

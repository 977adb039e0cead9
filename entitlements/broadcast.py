"""Telling every connected SDK about changes: after commit, coalesced, through the channel layer.

Writers announce a change inside their transaction (``push_on_commit``; ``entitlements.changes`` does it for every
company and user write, and a committed version bump does it for usage, credits and the catalog). After commit the
change is *marked*, and marks are flushed as one event to the channel-layer group ``datastream`` that every connection
of every web process joins (Redis in production). A flush happens at once when nothing was flushed in the last
``DATASTREAM_COALESCE_SECONDS`` (50 ms), otherwise as soon as that interval has passed: a burst of capture batches
sends at most one push per entity per interval, and the last change is never lost, because the event names entities,
not values. Each web process renders a pushed entity once, from the state it finds when the event arrives
(``entitlements.consumers``), so a connection never receives an older state after a newer one.

Marks and flushes live on the event loop that serves this process's WebSockets (registered by the ASGI application),
so the in-memory channel layer is only ever used from its own loop, and no thread or timer is started. A process
without one (a Celery worker, a management command) sends each change at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from core.versions import CATALOG_VERSION
from entitlements.datastream import CHANGE_RANK

logger = logging.getLogger(__name__)

GROUP = "datastream"
"""The channel-layer group every datastream connection joins."""
PUSH_EVENT = "datastream.push"
"""The event type of a push (``DatastreamConsumer.datastream_push``)."""

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


class _Coalescer:
    """The pending changes of this process and the loop they are flushed on (see the module docstring)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[tuple[str, int], Item] = {}
        self._flush_handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._last_flush = float("-inf")
        self._sending: set[asyncio.Task[None]] = set()

    def serve_on(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is not loop:
            self.loop = loop
            self._pending.clear()
            self._flush_handle = None
            self._last_flush = float("-inf")

    def mark(self, items: list[Item]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            _send_now(items)
        elif _running_loop() is loop:
            self._mark_in_loop(items)
        else:
            loop.call_soon_threadsafe(self._mark_in_loop, items)

    def _mark_in_loop(self, items: list[Item]) -> None:
        for item in items:
            key = (item[0], item[1])
            held = self._pending.get(key)
            if held is None or CHANGE_RANK[item[2]] >= CHANGE_RANK[held[2]]:
                self._pending[key] = item
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._last_flush + settings.DATASTREAM_COALESCE_SECONDS - loop.time())
            self._flush_handle = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        self._flush_handle = None
        self._last_flush = loop.time()
        items, self._pending = list(self._pending.values()), {}
        if items:
            task = loop.create_task(_send(push_event(items)))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)


_coalescer = _Coalescer()


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
        logger.exception("datastream push of %d changes failed", len(event["items"]))


def _send_now(items: list[Item], *, at: dt.datetime | None = None) -> None:
    async_to_sync(_send)(push_event(items, at=at))


def serving_loop_set(loop: asyncio.AbstractEventLoop) -> None:
    """Flush this process's pushes on ``loop`` (the ASGI server's), from now on."""
    _coalescer.serve_on(loop)


def push_on_commit(entity: str, entity_id: int, change: str, last_document: dict[str, Any] | None = None) -> None:
    """After the current transaction commits, tell every connected SDK that the entity changed (coalesced)."""
    item: Item = (entity, entity_id, change, last_document)
    transaction.on_commit(lambda: _coalescer.mark([item]))


def push_now(items: list[Item], *, at: dt.datetime | None = None) -> None:
    """Tell every connected SDK about ``items`` in one event, now and without coalescing (scheduled pushes)."""
    if not items:
        return
    loop = _coalescer.loop
    if loop is not None and loop.is_running() and _running_loop() is not loop:
        asyncio.run_coroutine_threadsafe(_send(push_event(items, at=at)), loop).result(timeout=30)
    else:
        _send_now(items, at=at)


def push_on_committed_bump(names: list[str]) -> None:
    """A committed version bump is a change to push: a catalog bump → a new flag snapshot; a company bump (capture,
    credits, anything) → its usage and credit balances. Explicit document pushes (``entitlements.changes``) supersede
    the latter when both are pending.

    Registered with ``core.versions.versions_on_committed_bump`` when the app starts.
    """
    items: list[Item] = []
    for name in names:
        if name == CATALOG_VERSION:
            items.append(("flags", 0, "document", None))
        elif name.startswith("company:"):
            items.append(("company", int(name.removeprefix("company:")), "usage", None))
    if items:
        _coalescer.mark(items)

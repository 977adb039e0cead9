"""The datastream WebSocket (PROTOCOL.md §3), served at ``/datastream`` on the host root.

The handshake is authenticated with the ``X-Schematic-Api-Key`` header; a missing, unknown or revoked key is refused
before the socket is accepted (the client sees HTTP 403). When the key is revoked later, every connection of it, in
every process, is closed with ``CLOSE_UNAUTHORIZED`` and sent nothing more (``key_revoked``). Each client message gets
exactly one answer; a malformed one gets an ``error`` message and the connection stays open. Every connection pushes
the changes broadcast to the ``datastream`` group (``entitlements.datastream.broadcast``), which the process hub
receives once for all of them. A push is rendered once per process, by whichever connection meets the event first,
and shared by all of them: a flag change reaches a thousand connections for the price of one document load and one
JSON encoding.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import json
import logging
from collections import OrderedDict
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from entitlements.datastream import broadcast
from entitlements.datastream import messages as datastream
from entitlements.datastream.holdings import CompanyHoldings
from entitlements.datastream.hub import process_hub
from entitlements.datastream.messages import CHANGE_RANK, PushChange
from entitlements.selectors import api_key_identity_get, api_key_is_active

logger = logging.getLogger(__name__)

API_KEY_HEADER = b"x-schematic-api-key"
CLOSE_UNAUTHORIZED = 4401
"""The close code of a connection whose key was revoked (HTTP's 401 in the private 4000–4999 range). The SDKs do not
tell close codes apart (the Python SDK reconnects after any close, and gives up after ten refused handshakes); this
one says why in the server's and the client's logs."""
_RENDERS_KEPT = 256


# Every read of state for a connection takes a number first; a higher number read a state at least as new. A
# connection remembers the highest it has sent, and never sends a render numbered lower (see ``_rendered``).
_read_order = itertools.count()


# A text frame to send, with what it is about: (entity, id) and the change ("answer" for an answer to a request).
Frame = tuple[tuple[str, int] | None, str, datastream.Push]


def _render(event: dict[str, Any]) -> tuple[int, list[Frame]]:
    """The frames of one push event, read from the current state (``entitlements.datastream.render_push``)."""
    order = next(_read_order)
    now = timezone.now()
    if event.get("at"):
        now = max(now, dt.datetime.fromisoformat(event["at"]))
    frames: list[Frame] = []
    for entity, entity_id, change, last_document in event["items"]:
        try:
            text = datastream.render_push(entity, int(entity_id), change, last_document, now=now)
        except Exception:  # one entity that cannot be rendered must not hold back the others
            logger.exception("datastream push of %s %s failed", entity, entity_id)
            continue
        if text is not None:
            frames.append(((entity, int(entity_id)), change, text))
    return order, frames


def _conflated(frames: list[Frame]) -> list[datastream.Push]:
    """The frames worth sending, in order: a partial (or snapshot) is dropped when a later one of the same entity,
    rendered later and so at least as new, carries at least as much. Deletes and answers are always sent."""
    kept: list[Frame | None] = []
    last_partial: dict[tuple[str, int], tuple[int, int]] = {}  # entity → (its last partial's index in kept, rank)
    for frame in frames:
        key, change, _ = frame
        if key is not None and change in (PushChange.USAGE, PushChange.DOCUMENT):
            earlier = last_partial.get(key)
            if earlier is not None and CHANGE_RANK[change] >= earlier[1]:
                kept[earlier[0]] = None
            last_partial[key] = (len(kept), CHANGE_RANK[change])
        elif key is not None:
            last_partial.pop(key, None)
        kept.append(frame)
    return [frame[2] for frame in kept if frame is not None]


def _answer(payload: Any) -> tuple[int, datastream.Message]:
    """The answer to a client request, numbered like renders."""
    order = next(_read_order)
    return order, datastream.response_for_request(payload)


_renders: OrderedDict[str, asyncio.Task[tuple[int, list[Frame]]]] = OrderedDict()


def _render_shared(event: dict[str, Any]) -> asyncio.Task[tuple[int, list[Frame]]]:
    task = asyncio.get_running_loop().create_task(database_sync_to_async(_render)(event))
    _renders[event["id"]] = task
    while len(_renders) > _RENDERS_KEPT:
        _renders.popitem(last=False)
    return task


async def _rendered(event: dict[str, Any], *, not_before: int) -> tuple[int, list[Frame]]:
    """The frames of ``event``, rendered by the first connection of this process to meet it and shared, unless that
    render is older than ``not_before`` — what the connection has already sent. That happens when the connection
    answered a request in between, or fell so far behind that an earlier event's render was evicted and made again
    after this one's: then it is rendered afresh, so a connection never receives an older state after a newer one."""
    task = _renders.get(event["id"])
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = _render_shared(event)
    # Shielded: a connection that closes while waiting must not cancel the render the others wait for. Most
    # connections meet a render already done: no wrapper needed.
    order, frames = task.result() if task.done() else await asyncio.shield(task)
    if order < not_before:
        order, frames = await asyncio.shield(_render_shared(event))
    return order, frames


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            try:
                return bytes(value).decode("latin-1")
            except (TypeError, ValueError):
                return None
    return None


class DatastreamConsumer(AsyncWebsocketConsumer):
    """One SDK's datastream connection."""

    # No channel-layer channel of its own: the process hub (``entitlements.datastream.hub``) hands it the pushes.
    channel_layer_alias = "datastream-connections-use-the-process-hub"
    sent_order = -1  # the number of the newest state read for this connection (``_read_order``)
    api_key_id: int | None = None  # the key the handshake authenticated (the hub closes its connections on revocation)
    # Accepted and its key not revoked: only then is anything queued or sent. Set false first on revocation, so that
    # nothing already queued or being rendered goes out after it.
    streaming = False
    revoked = False  # the hub said the key was revoked (possibly while the handshake was still being answered)
    _closing: asyncio.Task[None] | None = None  # the close of a revoked connection (held: tasks are weakly referenced)

    async def connect(self) -> None:
        secret = _header(self.scope, API_KEY_HEADER)
        identity = await database_sync_to_async(api_key_identity_get)(secret=secret) if secret else None
        if identity is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.scope["api_key"] = identity
        self.api_key_id = identity.pk
        broadcast.serving_loop_set(asyncio.get_running_loop())
        await process_hub.join(self)
        # Asked again, of the database, once in the hub: a revocation that committed after the identity above was read
        # (or was cached) may have reached this process's hub before the join, and would not close this connection.
        # Once joined, a revocation either committed before this read or its close reaches the hub after the join.
        active = await database_sync_to_async(api_key_is_active)(api_key_id=identity.pk)
        if not active or self.revoked:
            process_hub.leave(self)
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        await self.accept()
        if self.revoked:  # while the accept was being sent
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        # Pushes met between the join and here were dropped: the SDK's first request, answered after this, reads a
        # state at least as new.
        self.streaming = True

    def key_revoked(self) -> None:
        """From the process hub: this connection's key was revoked. Nothing more is sent, not even what is queued or
        being rendered; the socket is closed with ``CLOSE_UNAUTHORIZED`` (a handshake still being answered is
        refused)."""
        self.revoked = True
        if self.streaming:
            self.streaming = False
            self._closing = asyncio.get_running_loop().create_task(self.close(code=CLOSE_UNAUTHORIZED))

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections`` before every message: that is a hop to a thread
        per connection per push (measured: over half of the server's time in a push to 1,000 connections). This
        consumer reads the database only through ``database_sync_to_async``, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        process_hub.leave(self)
        if self._sender is not None:
            self._sender.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", errors="replace")
        self._post(("request", raw))

    def push(self, event: dict[str, Any]) -> None:
        """A push event, from the process hub."""
        self._post(("push", event))

    # --- The outbox: everything sent to the SDK goes through one task, in order ----------------------------------
    #
    # Handlers only queue, so the channel layer is drained at once however slow the client is; the sender takes all
    # that queued up at once and drops pushes superseded within it (``_conflated``): a connection that falls behind
    # catches up with the current state instead of replaying every intermediate one.

    _outbox: list[tuple[str, Any]]
    _wakeup: asyncio.Event
    _sender: asyncio.Task[None] | None = None

    @functools.cached_property
    def _holdings(self) -> CompanyHoldings:
        """The companies this connection's SDK was sent in full, for the pushes a partial cannot carry to it."""
        return CompanyHoldings()

    def _post(self, entry: tuple[str, Any]) -> None:
        if not self.streaming:  # not accepted yet, or its key revoked: nothing is to be sent
            return
        if self._sender is None:
            self._outbox, self._wakeup = [], asyncio.Event()
            self._sender = asyncio.create_task(self._send_loop())
        self._outbox.append(entry)
        self._wakeup.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._outbox = self._outbox, []
            try:
                frames = await self._frames(batch)
            except Exception:
                logger.exception("datastream send failed")
                continue
            for text in _conflated(frames):
                if not self.streaming:  # the key was revoked while these were rendered or sent
                    return
                await self.send(text_data=self._holdings.outgoing(text))

    async def _frames(self, batch: list[tuple[str, Any]]) -> list[Frame]:
        frames: list[Frame] = []
        for kind, body in batch:
            if kind == "push":
                order, rendered = await _rendered(body, not_before=self.sent_order)
                self.sent_order = max(self.sent_order, order)
                frames.extend(rendered)
            else:
                frames.append((None, "answer", datastream.encode(await self._answer(body))))
        return frames

    async def _answer(self, raw: str) -> datastream.Message:
        try:
            payload = json.loads(raw)
        except ValueError:
            return datastream.error_message("message is not valid JSON")
        try:
            order, message = await database_sync_to_async(_answer)(payload)
        except Exception:
            logger.exception("datastream request failed")
            return datastream.error_message("internal error")
        self.sent_order = max(self.sent_order, order)
        self._holdings.answered(message)
        return message

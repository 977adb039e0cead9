"""The datastream WebSocket (PROTOCOL.md §3), served at ``/datastream`` on the host root.

The handshake is authenticated with the ``X-Schematic-Api-Key`` header; a missing or unknown key is refused before
the socket is accepted (the client sees HTTP 403). Each client message gets exactly one answer; a malformed one gets
an ``error`` message and the connection stays open. Every connection joins the ``datastream`` group and pushes the
changes broadcast to it (``entitlements.broadcast``). A push is rendered once per process, by whichever connection
meets the event first, and shared by all of them: a flag change reaches a thousand connections for the price of one
document load and one JSON encoding.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import random
from collections import OrderedDict
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from entitlements import broadcast, datastream
from entitlements.selectors import api_key_identity_get

logger = logging.getLogger(__name__)

API_KEY_HEADER = b"x-schematic-api-key"
CLOSE_UNAUTHORIZED = 4401
# Channel layers forget a group member after ``group_expiry`` (a day by default), and SDK connections live for days:
# each connection joins again well within it.
GROUP_REFRESH_SECONDS = 3600.0
_RENDERS_KEPT = 256


# Every read of state for a connection takes a number first; a higher number read a state at least as new. A
# connection remembers the highest it has sent, and never sends a render numbered lower (see ``_rendered``).
_read_order = itertools.count()


def _render(event: dict[str, Any]) -> tuple[int, list[str]]:
    """The text frames of one push event, read from the current state (``entitlements.datastream.render_push``)."""
    order = next(_read_order)
    now = timezone.now()
    if event.get("at"):
        now = max(now, dt.datetime.fromisoformat(event["at"]))
    frames = []
    for entity, entity_id, change, last_document in event["items"]:
        try:
            frame = datastream.render_push(entity, int(entity_id), change, last_document, now=now)
        except Exception:  # one entity that cannot be rendered must not hold back the others
            logger.exception("datastream push of %s %s failed", entity, entity_id)
            continue
        if frame is not None:
            frames.append(frame)
    return order, frames


def _answer(payload: Any) -> tuple[int, datastream.Message]:
    """The answer to a client request, numbered like renders."""
    order = next(_read_order)
    return order, datastream.response_for_request(payload)


_renders: OrderedDict[str, asyncio.Task[tuple[int, list[str]]]] = OrderedDict()


def _render_shared(event: dict[str, Any]) -> asyncio.Task[tuple[int, list[str]]]:
    task = asyncio.get_running_loop().create_task(database_sync_to_async(_render)(event))
    _renders[event["id"]] = task
    while len(_renders) > _RENDERS_KEPT:
        _renders.popitem(last=False)
    return task


async def _rendered(event: dict[str, Any], *, not_before: int) -> tuple[int, list[str]]:
    """The frames of ``event``, rendered by the first connection of this process to meet it and shared, unless that
    render is older than ``not_before`` — what the connection has already sent. That happens when the connection
    answered a request in between, or fell so far behind that an earlier event's render was evicted and made again
    after this one's: then it is rendered afresh, so a connection never receives an older state after a newer one."""
    task = _renders.get(event["id"])
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = _render_shared(event)
    # Shielded: a connection that closes while waiting must not cancel the render the others wait for.
    order, frames = await asyncio.shield(task)
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

    joined = False
    sent_order = -1  # the number of the newest state read for this connection (``_read_order``)
    _membership: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        secret = _header(self.scope, API_KEY_HEADER)
        identity = await database_sync_to_async(api_key_identity_get)(secret=secret) if secret else None
        if identity is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.scope["api_key"] = identity
        broadcast.serving_loop_set(asyncio.get_running_loop())
        if self.channel_layer is not None:
            await self.channel_layer.group_add(broadcast.GROUP, self.channel_name)
            self.joined = True
            self._membership = asyncio.create_task(self._keep_membership())
        await self.accept()

    async def _keep_membership(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS * random.uniform(0.5, 1.0))  # spread: not all at once
            try:
                await self.channel_layer.group_add(broadcast.GROUP, self.channel_name)
            except Exception:  # Redis briefly away: the next round joins again
                logger.warning("datastream group refresh failed", exc_info=True)

    async def disconnect(self, code: int) -> None:
        if self._membership is not None:
            self._membership.cancel()
        if self.joined and self.channel_layer is not None:
            await self.channel_layer.group_discard(broadcast.GROUP, self.channel_name)
            self.joined = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", errors="replace")
        try:
            payload = json.loads(raw)
        except ValueError:
            await self._send(datastream.error_message("message is not valid JSON"))
            return
        try:
            order, message = await database_sync_to_async(_answer)(payload)
            self.sent_order = max(self.sent_order, order)
        except Exception:
            logger.exception("datastream request failed")
            message = datastream.error_message("internal error")
        await self._send(message)

    # --- Group events (``type`` "datastream.push" → ``datastream_push``) ------------------------------------------

    async def datastream_push(self, event: dict[str, Any]) -> None:
        order, frames = await _rendered(event, not_before=self.sent_order)
        self.sent_order = max(self.sent_order, order)
        for frame in frames:
            await self.send(text_data=frame)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=datastream.encode(message))

"""The datastream WebSocket (PROTOCOL.md §3), served at ``/datastream`` on the host root.

The handshake is authenticated with the ``X-Schematic-Api-Key`` header; a missing or unknown key is refused before
the socket is accepted (the client sees HTTP 403). Each client message gets exactly one answer; a malformed one gets
an ``error`` message and the connection stays open. Every connection joins the ``datastream`` group and pushes the
changes broadcast to it (``entitlements.datastream``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from entitlements import datastream
from entitlements.selectors import api_key_identity_get

logger = logging.getLogger(__name__)

API_KEY_HEADER = b"x-schematic-api-key"
CLOSE_UNAUTHORIZED = 4401


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

    async def connect(self) -> None:
        secret = _header(self.scope, API_KEY_HEADER)
        identity = await database_sync_to_async(api_key_identity_get)(secret=secret) if secret else None
        if identity is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.scope["api_key"] = identity
        if self.channel_layer is not None:
            await self.channel_layer.group_add(datastream.GROUP, self.channel_name)
            self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined and self.channel_layer is not None:
            await self.channel_layer.group_discard(datastream.GROUP, self.channel_name)
            self.joined = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", errors="replace")
        try:
            payload = json.loads(raw)
        except ValueError:
            await self._send(datastream.error_message("message is not valid JSON"))
            return
        try:
            message = await database_sync_to_async(datastream.response_for_request)(payload)
        except Exception:
            logger.exception("datastream request failed")
            message = datastream.error_message("internal error")
        await self._send(message)

    # --- Group broadcasts (``type`` "company.changed" → ``company_changed``) ---------------------------------------

    async def company_changed(self, event: dict[str, Any]) -> None:
        message = await database_sync_to_async(datastream.company_message)(int(event["company_id"]))
        if message is not None:  # a deleted company cannot be sent as a (complete) delete: clients keep it until TTL
            await self._send(message)

    async def flags_changed(self, event: dict[str, Any]) -> None:
        await self._send(await database_sync_to_async(datastream.flags_message)())

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":"), default=str))

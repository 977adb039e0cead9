"""Each web process's one member of the ``datastream`` group: it receives each push event once and hands it to every
local datastream connection in memory (``entitlements.datastream.consumers.DatastreamConsumer.push``).

A channel-layer channel per connection would cost, per push and per connection, a channel-layer receive (two tasks and
a wait in ``channels_redis``) and a dispatch; with a thousand connections that dominated a push. The hub also closes
the connections of revoked API keys (``KEYS_REVOKED_EVENT``): it arrives on the same channel as the pushes, so a push
sent after it never reaches those connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer

from entitlements.datastream.broadcast import GROUP, KEYS_REVOKED_EVENT, PUSH_EVENT

logger = logging.getLogger(__name__)

# Channel layers forget a group member after ``group_expiry`` (a day by default), and web processes live for days:
# the hub joins again well within it.
GROUP_REFRESH_SECONDS = 3600.0


class Connection(Protocol):
    api_key_id: int | None

    def push(self, event: dict[str, Any]) -> None: ...

    def key_revoked(self) -> None: ...


class ProcessHub:
    """The hub of the process's serving event loop (see the module docstring)."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self, connection: Connection) -> None:
        """Hand ``connection`` every push from now on (the first connection of a serving loop starts the hub)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or any(task.done() for task in self._tasks):
            for task in self._tasks:
                task.cancel()
            self._loop, self.connections, self._tasks = loop, set(), []
            layer = get_channel_layer()
            if layer is not None:
                channel = await layer.new_channel()
                await layer.group_add(GROUP, channel)
                self._tasks = [
                    loop.create_task(self._listen(layer, channel)),
                    loop.create_task(self._rejoin(layer, channel)),
                ]
        self.connections.add(connection)

    def leave(self, connection: Connection) -> None:
        self.connections.discard(connection)

    async def _listen(self, layer: Any, channel: str) -> None:
        while True:
            try:
                event = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis briefly away: wait a moment, then listen again
                logger.warning("datastream hub could not receive", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if event.get("type") == PUSH_EVENT:
                for connection in list(self.connections):
                    connection.push(event)
            elif event.get("type") == KEYS_REVOKED_EVENT:
                self._close_keys(set(event["api_key_ids"]))

    def _close_keys(self, api_key_ids: set[int]) -> None:
        """Close the connections of these keys. They leave the hub before anything else runs on the loop, so no push
        handled after this one reaches them."""
        for connection in [c for c in self.connections if c.api_key_id in api_key_ids]:
            self.connections.discard(connection)
            connection.key_revoked()

    @staticmethod
    async def _rejoin(layer: Any, channel: str) -> None:
        """Join the group again well within the layer's ``group_expiry`` (a day): the hub lives as long as its loop."""
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            try:
                await layer.group_add(GROUP, channel)
            except Exception:  # Redis briefly away: the next round joins again
                logger.warning("datastream group join failed", exc_info=True)


process_hub = ProcessHub()

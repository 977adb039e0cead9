"""Helpers of the datastream tests: the official async SDK in datastream mode, and a raw socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from schematic.client import AsyncSchematic, AsyncSchematicConfig
from schematic.datastream.datastream_client import DataStreamClient
from websockets.asyncio.client import ClientConnection, connect

from entitlements.datastream.broadcast import pushes_in_flight
from tests.sdk.conftest import AsgiServer


def ws_url(server: AsgiServer) -> str:
    return server.url.replace("http://", "ws://") + "/datastream"


def ws_headers(server: AsgiServer) -> dict[str, str]:
    return {"X-Schematic-Api-Key": server.api_secret}


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def quiet() -> None:
    """Wait until the changes made so far (fixtures) have been pushed, so a new connection only sees later ones."""

    async def idle() -> bool:
        return not pushes_in_flight()

    await eventually(idle)


@asynccontextmanager
async def socket(server: AsgiServer) -> AsyncIterator[ClientConnection]:
    """A raw datastream connection, opened once earlier changes have been pushed."""
    await quiet()
    async with connect(ws_url(server), additional_headers=ws_headers(server), open_timeout=5) as ws:
        yield ws


async def sdk_connect(server: AsgiServer, *, flag: str = "sso") -> AsyncSchematic:
    """An async SDK in datastream mode, connected and holding the flag snapshot (which includes ``flag``)."""
    await quiet()
    client = AsyncSchematic(
        server.api_secret,
        AsyncSchematicConfig(
            base_url=server.url,
            event_capture_url=server.url,
            use_datastream=True,
            cache_providers=[],
            event_buffer_period=3600,
        ),
    )
    await client.initialize()
    ds = client._get_datastream()
    assert ds is not None

    async def ready() -> bool:
        return ds.is_connected() and await ds.get_flag(flag) is not None

    await eventually(ready)
    return client


@asynccontextmanager
async def connected_sdk(
    server: AsgiServer, *, flag: str = "sso"
) -> AsyncIterator[tuple[AsyncSchematic, DataStreamClient]]:
    """``sdk_connect``, with its datastream client; shut down on leaving."""
    client = await sdk_connect(server, flag=flag)
    try:
        ds = client._get_datastream()
        assert ds is not None
        yield client, ds
    finally:
        await client.shutdown()


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
    return message


async def receive_entity(ws: ClientConnection, entity_type: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message about ``entity_type``, skipping pushes about other entities: a catalog change committed just
    before the connection opened may still be on its way to it as a flag snapshot (through Redis, a few ms late)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(ws, timeout=max(0.01, deadline - time.monotonic()))
        if message.get("entity_type") == entity_type:
            return message


async def request(ws: ClientConnection, body: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"data": {"action": "start", **body}}))
    return await receive(ws)

"""The datastream WebSocket (PROTOCOL.md §3) against the real server: the official async SDK and a raw socket."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.models import Company
from entitlements.services.companies import company_create
from entitlements.services.users import user_create
from tests.datastream.support import eventually, receive, request, sdk_connect, socket, ws_url
from tests.sdk.conftest import AsgiServer, ThreadedServer

FLAG = "sso"


@pytest.fixture
def world(transactional_db: None) -> Company:
    catalog.feature_create(actor=SYSTEM_ACTOR, key=FLAG, name="SSO")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    user_create(actor=SYSTEM_ACTOR, name="Ann", keys={"email": "ann@acme.test"}, companies=[company])
    return company


def test_sdk__known_company__checked_locally_without_rest(
    asgi_server: AsgiServer, world: Company, rest_flag_calls: list[str]
) -> None:
    async def scenario() -> None:
        client = await sdk_connect(asgi_server)
        try:
            assert await client.check_flag(FLAG, company={"external_id": "acme"}) is False
            assert await client.check_flag(FLAG, company={"external_id": "ACME"}) is False
            assert await client.check_flag(FLAG, user={"email": "ann@acme.test"}) is False
            ds = client._get_datastream()
            assert ds is not None
            assert await ds.get_cached_company({"external_id": "acme"}) is not None
        finally:
            await client.shutdown()

    asyncio.run(scenario())
    assert rest_flag_calls == []


def test_sdk__unknown_company__error_then_rest_fallback(
    asgi_server: AsgiServer, world: Company, rest_flag_calls: list[str]
) -> None:
    async def scenario() -> float:
        client = await sdk_connect(asgi_server)
        try:
            started = time.monotonic()
            assert await client.check_flag(FLAG, company={"external_id": "nobody"}) is False
            return time.monotonic() - started
        finally:
            await client.shutdown()

    elapsed = asyncio.run(scenario())
    assert rest_flag_calls == [f"/flags/{FLAG}/check"]
    print(f"unknown company answered in {elapsed:.3f} s")  # the error message spares the 2 s request timeout


def test_sdk__override_granted_through_the_api__flips_local_answer_without_rest(
    asgi_server: AsgiServer, world: Company, rest_flag_calls: list[str]
) -> None:
    def grant() -> None:
        response = httpx.post(
            f"{asgi_server.url}/api/v1/companies/{world.public_id}/overrides",
            json={"feature": FLAG, "value_type": "boolean", "value": True, "note": "deal closes at 5 pm"},
            headers={"X-Schematic-Api-Key": asgi_server.api_secret},
        )
        assert response.status_code == 201, response.text

    async def scenario() -> None:
        client = await sdk_connect(asgi_server)
        try:
            company = {"external_id": "acme"}
            assert await client.check_flag(FLAG, company=company) is False
            await asyncio.to_thread(grant)

            async def flipped() -> bool:
                return await client.check_flag(FLAG, company=company) is True

            await eventually(flipped)
        finally:
            await client.shutdown()

    asyncio.run(scenario())
    assert rest_flag_calls == []


@pytest.mark.parametrize("headers", [{}, {"X-Schematic-Api-Key": "sch_wrong"}], ids=["no-key", "wrong-key"])
def test_handshake__missing_or_wrong_key__refused(asgi_server: AsgiServer, headers: dict[str, str]) -> None:
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(asgi_server), additional_headers=headers, open_timeout=5):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_socket__malformed_messages__error_and_connection_stays_usable(asgi_server: AsgiServer, world: Company) -> None:
    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            stop = json.dumps({"data": {"action": "stop", "entity_type": "rulesengine.Flags"}})
            for bad in ["not json", "[1]", stop]:
                await ws.send(bad)
                reply = await receive(ws)
                assert reply["message_type"] == "error"
                assert "keys" not in reply["data"]
            reply = await request(ws, {"entity_type": "rulesengine.Nope"})
            assert reply["message_type"] == "error"
            reply = await request(ws, {"entity_type": "rulesengine.Company"})  # no keys
            assert reply["message_type"] == "error"
            assert "keys" not in reply["data"]

            flags = await request(ws, {"entity_type": "rulesengine.Flags"})
            assert flags["entity_type"] == "rulesengine.Flags"
            assert flags["message_type"] == "full"
            assert [flag["key"] for flag in flags["data"]] == [FLAG]

    asyncio.run(scenario())


def test_socket__company_and_user_requests__full_or_keyed_error(asgi_server: AsgiServer, world: Company) -> None:
    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            company = await request(ws, {"entity_type": "rulesengine.Company", "keys": {"external_id": "ACME"}})
            assert company["entity_type"] == "rulesengine.Company"
            assert company["message_type"] == "full"
            assert company["entity_id"] == company["data"]["id"] == world.public_id
            assert company["data"]["keys"] == {"external_id": "acme"}

            user = await request(ws, {"entity_type": "rulesengine.User", "keys": {"email": "ann@acme.test"}})
            assert (user["entity_type"], user["message_type"]) == ("rulesengine.User", "full")
            assert user["data"]["keys"] == {"email": "ann@acme.test"}

            for entity_type, keys, error in [
                ("rulesengine.Company", {"external_id": "nobody"}, "company not found"),
                ("rulesengine.User", {"email": "nobody@x.test"}, "user not found"),
            ]:
                reply = await request(ws, {"entity_type": entity_type, "keys": keys})
                assert reply["message_type"] == "error"
                assert reply["data"] == {"error": error, "keys": keys, "entity_type": entity_type}

    asyncio.run(scenario())


def test_socket__flags_change_broadcast__new_snapshot_pushed(asgi_server: AsgiServer, world: Company) -> None:
    def add_flag() -> None:
        with transaction.atomic():
            # a catalog write bumps the catalog token; after commit that alone pushes a new snapshot
            catalog.feature_create(actor=SYSTEM_ACTOR, key="audit-log", name="Audit log")

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            assert [f["key"] for f in (await request(ws, {"entity_type": "rulesengine.Flags"}))["data"]] == [FLAG]
            await database_sync_to_async(add_flag)()
            pushed = await receive(ws)
            assert (pushed["entity_type"], pushed["message_type"]) == ("rulesengine.Flags", "full")
            assert [flag["key"] for flag in pushed["data"]] == ["audit-log", FLAG]

    asyncio.run(scenario())


def test_sdk__server_restarts__reconnects_and_receives_the_flags_again(
    asgi_server: AsgiServer, world: Company, rest_flag_calls: list[str]
) -> None:
    port = int(asgi_server.url.rsplit(":", 1)[1])

    async def scenario() -> None:
        client = await sdk_connect(asgi_server)
        replacement: ThreadedServer | None = None
        try:
            ds = client._get_datastream()
            assert ds is not None
            assert await client.check_flag(FLAG, company={"external_id": "acme"}) is False
            assert asgi_server.server is not None
            await asyncio.to_thread(asgi_server.server.stop)

            async def disconnected() -> bool:
                return not ds.is_connected()

            await eventually(disconnected)
            # Changed while no server runs: only the snapshot sent after the reconnect can carry it.
            await database_sync_to_async(catalog.feature_create)(actor=SYSTEM_ACTOR, key="audit-log", name="Audit")
            replacement = await asyncio.to_thread(ThreadedServer(port).start)

            async def flags_again() -> bool:
                return ds.is_connected() and await ds.get_flag("audit-log") is not None

            await eventually(flags_again, timeout=15)  # the SDK's first retry comes after 1–2 s
            assert await client.check_flag("audit-log", company={"external_id": "acme"}) is False
        finally:
            await client.shutdown()
            if replacement is not None:
                await asyncio.to_thread(replacement.stop)

    asyncio.run(scenario())
    assert rest_flag_calls == []


def test_socket__connection_outlives_group_expiry__still_receives_pushes(
    asgi_server: AsgiServer, world: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.layers import get_channel_layer

    from entitlements.datastream import hub

    layer = get_channel_layer()
    assert layer is not None
    monkeypatch.setattr(layer, "group_expiry", 1)  # a day in production; SDK connections live for days
    monkeypatch.setattr(hub, "GROUP_REFRESH_SECONDS", 0.2)

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            await request(ws, {"entity_type": "rulesengine.Flags"})
            await asyncio.sleep(2)  # twice the group expiry
            await database_sync_to_async(catalog.feature_create)(actor=SYSTEM_ACTOR, key="audit-log", name="Audit")
            pushed = await receive(ws)
            assert [flag["key"] for flag in pushed["data"]] == ["audit-log", FLAG]

    asyncio.run(scenario())

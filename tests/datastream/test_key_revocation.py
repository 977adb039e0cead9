"""A revoked API key loses its datastream connections at once (issue #12, item 7), in one web process: the in-thread
server, on the embedded defaults (SQLite, in-memory channel layer) or on PostgreSQL + Redis.

Revoking a key closes each of its open connections with ``CLOSE_UNAUTHORIZED`` within a second, and they receive
nothing more; its reconnects are refused at the handshake; the connections of other keys stay open and keep
receiving. ``test_key_revocation_two_processes.py`` holds the same promise across web processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from core.events import DomainEvent, events_subscribe, events_unsubscribe
from entitlements.datastream.consumers import CLOSE_UNAUTHORIZED
from entitlements.events import ApiKeyRevoked
from entitlements.models import ApiKey, Company
from entitlements.selectors import api_key_identity_cache_key, api_key_identity_get, api_key_secret_hash
from entitlements.services.api_keys import IssuedApiKey, api_key_create, api_key_revoke
from entitlements.services.companies import company_create
from tests.datastream.revocation_support import admin_revoke, frames_until_closed, staff_member_create
from tests.datastream.support import eventually, quiet, receive_entity, request, sdk_connect, ws_url
from tests.sdk.conftest import AsgiServer

FLAG = "sso"
ACME = {"external_id": "acme"}
CLOSE_WITHIN_SECONDS = 1.0  # the "within a second"


@pytest.fixture
def world(transactional_db: None) -> Company:
    catalog.feature_create(actor=SYSTEM_ACTOR, key=FLAG, name="SSO")
    return company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())


@pytest.fixture
def other_key(transactional_db: None) -> IssuedApiKey:
    """A second key of the same vendor, which is never revoked."""
    return api_key_create(actor=SYSTEM_ACTOR, name="the other backend")


def _key(secret: str) -> ApiKey:
    return ApiKey.objects.get(secret_hash=api_key_secret_hash(secret))


def _open(server: AsgiServer, secret: str) -> connect:
    return connect(ws_url(server), additional_headers={"X-Schematic-Api-Key": secret}, open_timeout=5)


async def _handshake_status(server: AsgiServer, secret: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with _open(server, secret):
            pass
    return refused.value.response.status_code


def _grant_with(server: AsgiServer, secret: str, company: Company) -> None:
    """A change made through the API with ``secret``: an override of the flag for the company."""
    response = httpx.post(
        f"{server.url}/api/v1/companies/{company.public_id}/overrides",
        json={"feature": FLAG, "value_type": "boolean", "value": True, "note": "pilot"},
        headers={"X-Schematic-Api-Key": secret},
    )
    assert response.status_code == 201, response.text


async def _holding_acme(ws: ClientConnection) -> None:
    """Ask for the flags and the company, as the SDK does, so the socket is fully in use."""
    assert (await request(ws, {"entity_type": "rulesengine.Flags"}))["message_type"] == "full"
    assert (await request(ws, {"entity_type": "rulesengine.Company", "keys": ACME}))["message_type"] == "full"


def test_key_revoked_through_the_service__its_sockets_close_at_once__other_keys_keep_streaming(
    asgi_server: AsgiServer, world: Company, other_key: IssuedApiKey
) -> None:
    # Given the official SDK and a raw socket on key K, and a raw socket on another key
    revoked_key = _key(asgi_server.api_secret)

    async def scenario() -> None:
        client = await sdk_connect(asgi_server)
        try:
            ds = client._get_datastream()
            assert ds is not None
            # The SDK now holds Acme (asked for as a check does; a check itself would leave a flag_check event
            # that the SDK retries for 7 s at shutdown, its key being revoked by then)
            assert (await ds.get_company(ACME)).id == world.public_id
            async with (
                _open(asgi_server, asgi_server.api_secret) as on_k,
                _open(asgi_server, other_key.secret) as other,
            ):
                await _holding_acme(on_k)
                await _holding_acme(other)
                await quiet()

                # When K is revoked
                await database_sync_to_async(api_key_revoke)(
                    actor=SYSTEM_ACTOR, api_key=revoked_key, now=timezone.now()
                )

                # Then K's socket is closed within a second, as unauthorized, having received nothing more
                frames, code = await frames_until_closed(on_k, timeout=CLOSE_WITHIN_SECONDS)
                assert (frames, code) == ([], CLOSE_UNAUTHORIZED)

                async def sdk_disconnected() -> bool:
                    return not ds.is_connected()

                await eventually(sdk_disconnected, timeout=CLOSE_WITHIN_SECONDS)

                # And a change made afterwards with the other key reaches the other key's socket only
                await asyncio.to_thread(_grant_with, asgi_server, other_key.secret, world)
                pushed = await receive_entity(other, "rulesengine.Company")
                assert pushed["message_type"] == "partial" and pushed["data"]["rules"]
                held = await ds.get_cached_company(ACME)
                assert held is not None and not held.rules  # K's SDK never heard of the override
                assert not ds.is_connected()

                # And K cannot open a socket again
                assert await _handshake_status(asgi_server, asgi_server.api_secret) == 403

                # And the other key's socket is still open and answering
                flags = await request(other, {"entity_type": "rulesengine.Flags"})
                assert [flag["key"] for flag in flags["data"]] == [FLAG]
        finally:
            await client.shutdown()

    asyncio.run(scenario())


def test_key_revoked_with_the_admin_action__its_socket_closes_at_once__other_key_keeps_streaming(
    asgi_server: AsgiServer, world: Company, other_key: IssuedApiKey
) -> None:
    # Given a staff member, a socket on key K and one on another key
    username = staff_member_create()
    revoked_key = _key(asgi_server.api_secret)

    async def scenario() -> None:
        async with _open(asgi_server, asgi_server.api_secret) as on_k, _open(asgi_server, other_key.secret) as other:
            await _holding_acme(on_k)
            await _holding_acme(other)
            await quiet()

            # When the staff member revokes K in the back-office
            await asyncio.to_thread(admin_revoke, asgi_server.url, username, revoked_key)

            # Then K's socket is closed within a second and received nothing more; the other one streams on
            frames, code = await frames_until_closed(on_k, timeout=CLOSE_WITHIN_SECONDS)
            assert (frames, code) == ([], CLOSE_UNAUTHORIZED)
            await asyncio.to_thread(_grant_with, asgi_server, other_key.secret, world)
            assert (await receive_entity(other, "rulesengine.Company"))["message_type"] == "partial"
            assert await _handshake_status(asgi_server, asgi_server.api_secret) == 403

    asyncio.run(scenario())
    revoked_key.refresh_from_db()
    assert revoked_key.revoked_at is not None


def test_handshake__identity_cached_before_the_revocation_committed__refused(
    asgi_server: AsgiServer, world: Company
) -> None:
    """The handshake's identity comes from the shared cache; a reader that cached it while the revocation was
    committing would keep it for an hour. The consumer asks the database once it is in its process's hub, so such a
    stale identity opens no socket."""
    # Given K's identity cached, and K revoked in the database without the cache hearing of it (what that race leaves)
    key = _key(asgi_server.api_secret)
    assert api_key_identity_get(secret=asgi_server.api_secret) is not None
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert cache.get(api_key_identity_cache_key(key.secret_hash))

    # When an SDK connects with K, then it is refused
    async def scenario() -> None:
        await quiet()
        assert await _handshake_status(asgi_server, asgi_server.api_secret) == 403

    asyncio.run(scenario())


def test_revoke__twice__one_event_after_commit(transactional_db: None) -> None:
    # Given a key, and a subscriber to revocations
    key = api_key_create(actor=SYSTEM_ACTOR, name="backend").api_key
    heard: list[DomainEvent] = []

    def hear(events: Sequence[DomainEvent]) -> None:
        heard.extend(events)

    events_subscribe(hear, types=[ApiKeyRevoked])
    try:
        # When it is revoked twice
        api_key_revoke(actor=SYSTEM_ACTOR, api_key=key, now=timezone.now())
        api_key_revoke(actor=SYSTEM_ACTOR, api_key=key, now=timezone.now())
    finally:
        events_unsubscribe(hear)

    # Then the revocation was announced once, naming the key
    assert heard == [ApiKeyRevoked(api_key_id=key.pk, public_id=key.public_id)]

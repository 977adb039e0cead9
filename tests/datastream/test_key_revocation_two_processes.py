"""A revoked API key loses its datastream connections in every web process (issue #12, item 7): two uvicorn processes
sharing PostgreSQL and the Redis channel layer, as in ``test_two_processes.py``.

The key is revoked through process A's back-office, or by a process with no server at all (the service called here,
as a management command or a Celery task would); the SDK connected to process B is closed within a second and
receives nothing more. Only meaningful on PostgreSQL + Redis, so skipped elsewhere.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.datastream.consumers import CLOSE_UNAUTHORIZED
from entitlements.models import Company
from entitlements.services.api_keys import IssuedApiKey, api_key_create, api_key_revoke
from entitlements.services.companies import company_create
from tests.datastream.revocation_support import admin_revoke, frames_until_closed, staff_member_create
from tests.datastream.support import eventually, quiet, receive_entity, request, sdk_connect
from tests.datastream.test_two_processes import ServerProcess, two_servers  # noqa: F401  (the fixture)
from tests.sdk.conftest import AsgiServer

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL or connection.vendor != "postgresql",
    reason="two processes need the shared PostgreSQL database and Redis channel layer",
)

ACME = {"external_id": "acme"}
CLOSE_WITHIN_SECONDS = 1.0  # the "within a second"


@pytest.fixture
def world(transactional_db: None) -> tuple[Company, IssuedApiKey, IssuedApiKey]:
    """Acme, the key that will be revoked, and another key that will not."""
    catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())
    revoked = api_key_create(actor=SYSTEM_ACTOR, name="revoked backend")
    other = api_key_create(actor=SYSTEM_ACTOR, name="other backend")
    return company, revoked, other


def _socket(server: ServerProcess, secret: str) -> connect:
    url = server.url.replace("http://", "ws://") + "/datastream"
    return connect(url, additional_headers={"X-Schematic-Api-Key": secret}, open_timeout=5)


def _grant_through(server: ServerProcess, secret: str, company: Company) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/companies/{company.public_id}/overrides",
        json={"feature": "sso", "value_type": "boolean", "value": True, "note": "pilot"},
        headers={"X-Schematic-Api-Key": secret},
    )
    assert response.status_code == 201, response.text


def test_key_revoked_in_process_a_back_office__sdk_and_socket_on_process_b_closed_at_once(
    two_servers: tuple[ServerProcess, ServerProcess],  # noqa: F811
    world: tuple[Company, IssuedApiKey, IssuedApiKey],
) -> None:
    process_a, process_b = two_servers
    company, revoked, other = world
    username = staff_member_create()
    on_b = AsgiServer(url=process_b.url, api_secret=revoked.secret)

    async def scenario() -> None:
        # Given the SDK and a raw socket on process B with key K, and a socket on B with another key
        client = await sdk_connect(on_b)
        try:
            ds = client._get_datastream()
            assert ds is not None
            assert (await ds.get_company(ACME)).id == company.public_id  # held, as a check asks for it
            async with _socket(process_b, revoked.secret) as on_k, _socket(process_b, other.secret) as other_ws:
                for ws in (on_k, other_ws):
                    assert (await request(ws, {"entity_type": "rulesengine.Flags"}))["message_type"] == "full"
                await quiet()

                # When a staff member revokes K in process A's back-office
                await asyncio.to_thread(admin_revoke, process_a.url, username, revoked.api_key)

                # Then B closes K's socket within a second, as unauthorized, having sent nothing more
                frames, code = await frames_until_closed(on_k, timeout=CLOSE_WITHIN_SECONDS)
                assert (frames, code) == ([], CLOSE_UNAUTHORIZED)

                async def sdk_disconnected() -> bool:
                    return not ds.is_connected()

                await eventually(sdk_disconnected, timeout=CLOSE_WITHIN_SECONDS)

                # And a change made through A with the other key reaches B's other socket, not K's SDK
                await asyncio.to_thread(_grant_through, process_a, other.secret, company)
                assert (await receive_entity(other_ws, "rulesengine.Company"))["message_type"] == "partial"
                held = await ds.get_cached_company(ACME)
                assert held is not None and not held.rules
                assert not ds.is_connected()

                # And neither process lets K open a socket again
                for server in (process_a, process_b):
                    with pytest.raises(InvalidStatus) as refused:
                        async with _socket(server, revoked.secret):
                            pass
                    assert refused.value.response.status_code == 403
        finally:
            await client.shutdown()

    asyncio.run(scenario())


def test_key_revoked_by_a_process_without_a_server__socket_on_process_b_closed_at_once(
    two_servers: tuple[ServerProcess, ServerProcess],  # noqa: F811
    world: tuple[Company, IssuedApiKey, IssuedApiKey],
) -> None:
    """The test process serves no WebSocket: its close leaves from the datastream's own loop, as a command's does."""
    _, process_b = two_servers
    _, revoked, other = world

    async def scenario() -> None:
        async with _socket(process_b, revoked.secret) as on_k, _socket(process_b, other.secret) as other_ws:
            for ws in (on_k, other_ws):
                assert (await request(ws, {"entity_type": "rulesengine.Flags"}))["message_type"] == "full"
            await quiet()

            await database_sync_to_async(api_key_revoke)(
                actor=SYSTEM_ACTOR, api_key=revoked.api_key, now=timezone.now()
            )

            frames, code = await frames_until_closed(on_k, timeout=CLOSE_WITHIN_SECONDS)
            assert (frames, code) == ([], CLOSE_UNAUTHORIZED)
            flags = await request(other_ws, {"entity_type": "rulesengine.Flags"})  # the other key's socket is open
            assert [flag["key"] for flag in flags["data"]] == ["sso"]

    asyncio.run(scenario())

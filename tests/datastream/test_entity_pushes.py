"""What a company or user change pushes: partials to holders only, deletes with complete entities."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.models import Company, User
from entitlements.services.companies import company_create, company_delete, company_update
from entitlements.services.users import user_create, user_delete, user_update
from tests.datastream.support import connected_sdk, eventually, receive, receive_entity, request, socket
from tests.sdk.conftest import AsgiServer

FLAG = "sso"
ACME = {"external_id": "acme"}


@pytest.fixture
def world(transactional_db: None) -> tuple[Company, User]:
    catalog.feature_create(actor=SYSTEM_ACTOR, key=FLAG, name="SSO")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={**ACME, "slug": "acme-inc"}, now=timezone.now())
    user = user_create(actor=SYSTEM_ACTOR, name="Ann", keys={"email": "ann@acme.test"}, companies=[company])
    return company, user


def test_socket__company_change__partial_with_the_whole_document(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    company, _ = world

    def set_trait() -> None:
        company_update(actor=SYSTEM_ACTOR, company=Company.objects.get(pk=company.pk), traits={"seats": "12"})

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            full = await request(ws, {"entity_type": "rulesengine.Company", "keys": ACME})
            await database_sync_to_async(set_trait)()
            pushed = await receive(ws)
            assert (pushed["message_type"], pushed["entity_id"]) == ("partial", full["entity_id"])
            assert set(pushed["data"]) == set(full["data"])  # every field: holders replace what changed
            assert [t["value"] for t in pushed["data"]["traits"]] == ["12"]

    asyncio.run(scenario())


def test_sdk__partial_for_a_company_not_held__ignored(asgi_server: AsgiServer, world: tuple[Company, User]) -> None:
    company, _ = world

    async def scenario() -> None:
        async with connected_sdk(asgi_server) as (_client, ds):
            await database_sync_to_async(company_update)(actor=SYSTEM_ACTOR, company=company, traits={"seats": "3"})
            await asyncio.sleep(0.3)
            assert await ds.get_cached_company(ACME) is None  # its LRU cache is not filled with strangers

    asyncio.run(scenario())


def test_sdk__company_key_removed__dropped_then_old_key_unknown(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    company, _ = world

    def remove_slug() -> None:
        company_update(actor=SYSTEM_ACTOR, company=Company.objects.get(pk=company.pk), keys={"slug": None})

    async def scenario() -> None:
        async with connected_sdk(asgi_server) as (client, ds):
            assert await client.check_flag(FLAG, company={"slug": "acme-inc"}) is False
            assert await ds.get_cached_company({"slug": "acme-inc"}) is not None
            await database_sync_to_async(remove_slug)()

            async def dropped() -> bool:
                return await ds.get_cached_company({"slug": "acme-inc"}) is None

            await eventually(dropped)  # a partial cannot remove a key: the delete did
            assert await client.check_flag(FLAG, company=ACME) is False  # asked again, by a key it still has
            held = await ds.get_cached_company(ACME)
            assert held is not None and held.keys == ACME

    asyncio.run(scenario())


def test_socket__company_deleted__delete_with_the_complete_last_document(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    company, _ = world

    async def scenario() -> None:
        async with connected_sdk(asgi_server) as (client, ds):
            async with socket(asgi_server) as ws:
                full = await request(ws, {"entity_type": "rulesengine.Company", "keys": ACME})
                assert await client.check_flag(FLAG, company=ACME) is False
                await database_sync_to_async(company_delete)(actor=SYSTEM_ACTOR, company=company)
                pushed = await receive(ws)
                assert (pushed["message_type"], pushed["entity_id"]) == ("delete", full["entity_id"])
                assert pushed["data"] == full["data"]  # complete: the SDK validates a delete's entity

            async def dropped() -> bool:
                return await ds.get_cached_company(ACME) is None

            await eventually(dropped)

    asyncio.run(scenario())


def test_socket__user_changed_then_deleted__partial_then_delete(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    _, user = world
    ann = {"email": "ann@acme.test"}

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            full = await request(ws, {"entity_type": "rulesengine.User", "keys": ann})
            await database_sync_to_async(user_update)(actor=SYSTEM_ACTOR, user=user, traits={"role": "admin"})
            changed = await receive(ws)
            assert (changed["entity_type"], changed["message_type"]) == ("rulesengine.User", "partial")
            assert [t["value"] for t in changed["data"]["traits"]] == ["admin"]
            await database_sync_to_async(user_delete)(actor=SYSTEM_ACTOR, user=user)
            deleted = await receive(ws)
            assert (deleted["message_type"], deleted["entity_id"]) == ("delete", full["entity_id"])
            assert deleted["data"]["keys"] == ann

    asyncio.run(scenario())


def test_socket__credits_granted__partial_with_the_new_balance(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    company, _ = world
    credits = credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits")

    def grant() -> None:
        credit_grant(
            actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credits, quantity=Decimal("250"),
            reason="purchase", now=timezone.now(),
        )  # fmt: skip

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            await ws.send(json.dumps({"data": {"action": "start", "entity_type": "rulesengine.Company", "keys": ACME}}))
            full = await receive_entity(ws, "rulesengine.Company")
            await database_sync_to_async(grant)()
            pushed = await receive_entity(ws, "rulesengine.Company")
            assert (pushed["message_type"], pushed["entity_id"]) == ("partial", full["entity_id"])
            assert set(pushed["data"]) == {"metrics", "credit_balances"}
            assert pushed["data"]["credit_balances"] == {credits.public_id: 250.0}

    asyncio.run(scenario())


def test_socket__ping__answered_with_pong(asgi_server: AsgiServer, world: tuple[Company, User]) -> None:
    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            pong = await ws.ping()
            await asyncio.wait_for(pong, timeout=5)  # the SDK pings every 54 s and reconnects after two misses

    asyncio.run(scenario())


def test_socket__identify_repeating_keys_and_traits__pushes_nothing(
    asgi_server: AsgiServer, world: tuple[Company, User]
) -> None:
    company, _ = world

    def update(traits: dict[str, str]) -> None:
        fresh = Company.objects.get(pk=company.pk)
        company_update(actor=SYSTEM_ACTOR, company=fresh, keys={**ACME, "slug": "acme-inc"}, traits=traits)

    async def scenario() -> None:
        async with socket(asgi_server) as ws:
            await request(ws, {"entity_type": "rulesengine.Company", "keys": ACME})
            await database_sync_to_async(update)({"seats": "12"})
            assert [t["value"] for t in (await receive(ws))["data"]["traits"]] == ["12"]
            await database_sync_to_async(update)({"seats": "12"})  # as every identify call repeats them
            await asyncio.sleep(0.2)  # past the coalescing interval: a push of it would arrive on its own
            await database_sync_to_async(update)({"seats": "13"})
            assert [t["value"] for t in (await receive(ws))["data"]["traits"]] == ["13"]  # nothing in between

    asyncio.run(scenario())

"""The datastream messages as the Node SDK sends and reads them, over a raw socket (no Node needed): requests without
``action``, the flag snapshot always answered, collections never ``null``, and a company sent in full to the SDKs
holding it when a field the Node SDK's partial merge ignores changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from catalog.credit_services import credit_type_create
from catalog.models import CreditType, Feature
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.models import Company
from entitlements.services.companies import company_update
from entitlements.services.overrides import override_grant
from tests.datastream.support import receive, receive_entity, socket
from tests.sdk.conftest import AsgiServer
from tests.sdk_node.conftest import World

COMPANY = "rulesengine.Company"
ACME = {"external_id": "acme"}


async def _ask(ws: Any, request: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"data": request}))
    return await receive(ws)


@pytest.mark.parametrize("action", [{}, {"action": None}, {"action": "start"}], ids=["node", "null", "python"])
def test_socket__requests_with_or_without_action__answered_alike(
    server: AsgiServer, world: World, action: dict[str, Any]
) -> None:
    async def scenario() -> None:
        async with socket(server) as ws:
            flags = await _ask(ws, {**action, "entity_type": "rulesengine.Flags"})
            assert (flags["message_type"], sorted(f["key"] for f in flags["data"])) == (
                "full",
                ["ai-generations", "sso"],
            )
            company = await _ask(ws, {**action, "entity_type": COMPANY, "keys": {"external_id": "ACME"}})
            assert (company["message_type"], company["entity_id"]) == ("full", world.acme.public_id)
            user = await _ask(ws, {**action, "entity_type": "rulesengine.User", "keys": {"email": "ann@acme.test"}})
            assert user["message_type"] == "full"
            # an unknown company: an error naming the request's keys, so the SDK falls back to REST at once (the Node
            # SDK would otherwise wait 30 s)
            missing = await _ask(ws, {**action, "entity_type": COMPANY, "keys": {"external_id": "nobody"}})
            assert missing["message_type"] == "error"
            assert (missing["data"]["keys"], missing["data"]["entity_type"]) == ({"external_id": "nobody"}, COMPANY)

    asyncio.run(scenario())


def test_socket__flags_request_without_any_feature__empty_snapshot(server: AsgiServer) -> None:
    """The Node SDK is not ready until its flags request is answered (else it reconnects every 30 s)."""

    async def scenario() -> None:
        async with socket(server) as ws:
            assert await _ask(ws, {"entity_type": "rulesengine.Flags"}) == {
                "entity_type": "rulesengine.Flags", "message_type": "full", "data": [],
            }  # fmt: skip

    asyncio.run(scenario())


# The collections the Node SDK's schemas require (a null drops the whole document), written out from its bundle.
NODE_REQUIRED_LISTS = {
    "flag": ("rules",),
    "rule": ("conditions", "condition_groups"),
    "condition": ("resource_ids",),
    "company": ("plan_ids", "plan_version_ids", "billing_product_ids", "metrics", "traits", "rules"),
    "user": ("rules", "traits"),
}
NODE_REQUIRED_OBJECTS = {"company": ("keys", "credit_balances"), "user": ("keys",)}


def _null_collections(kind: str, document: dict[str, Any], path: str) -> list[str]:
    """The paths in ``document`` where the Node SDK would meet a missing or ``null`` collection."""
    bad = [f"{path}.{name}" for name in NODE_REQUIRED_LISTS.get(kind, ()) if not isinstance(document.get(name), list)]
    bad += [
        f"{path}.{name}" for name in NODE_REQUIRED_OBJECTS.get(kind, ()) if not isinstance(document.get(name), dict)
    ]
    if "entitlements" in document and not isinstance(document["entitlements"], list):  # optional, but never null
        bad.append(f"{path}.entitlements")
    for index, rule in enumerate(document.get("rules") or []):
        bad += _null_collections("rule", rule, f"{path}.rules[{index}]")
    for index, condition in enumerate(document.get("conditions") or []):
        bad += _null_collections("condition", condition, f"{path}.conditions[{index}]")
    for index, group in enumerate(document.get("condition_groups") or []):
        for inner, condition in enumerate(group.get("conditions") or []):
            bad += _null_collections("condition", condition, f"{path}.condition_groups[{index}].conditions[{inner}]")
    return bad


def test_socket__documents_of_a_busy_company__no_collection_missing_or_null(server: AsgiServer, world: World) -> None:
    credits = credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits", overdraft_limit=Decimal(10))
    sso = Feature.objects.get(key="sso")
    override_grant(
        actor=SYSTEM_ACTOR, company=world.acme, feature=sso, value_type="boolean", value=True, note="pilot",
        expires_at=timezone.now() + dt.timedelta(days=3), now=timezone.now(),
    )  # fmt: skip
    company_update(actor=SYSTEM_ACTOR, company=Company.objects.get(pk=world.acme.pk), keys=ACME, traits={"seats": 3})
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=world.acme.pk, credit_type=credits, quantity=Decimal(5), reason="purchase",
        now=timezone.now(),
    )  # fmt: skip

    async def scenario() -> None:
        async with socket(server) as ws:
            flags = await _ask(ws, {"entity_type": "rulesengine.Flags"})
            company = await _ask(ws, {"entity_type": COMPANY, "keys": ACME})
            user = await _ask(ws, {"entity_type": "rulesengine.User", "keys": {"email": "ann@acme.test"}})
            assert company["data"]["rules"] and company["data"]["metrics"] and company["data"]["traits"]
            bad = [p for i, f in enumerate(flags["data"]) for p in _null_collections("flag", f, f"flags[{i}]")]
            bad += _null_collections("company", company["data"], "company")
            bad += _null_collections("user", user["data"], "user")
            assert bad == []

    asyncio.run(scenario())


@pytest.fixture
def overdraft_credits(world: World) -> CreditType:
    """A credit type with an overdraft: the company's first grant opens its account, which brings
    ``credit_postpaid``."""
    return credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits", overdraft_limit=Decimal(100))


def _grant(company: Company, credits: CreditType, quantity: int) -> None:
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credits, quantity=Decimal(quantity), reason="purchase",
        now=timezone.now(),
    )  # fmt: skip


def test_socket__unmerged_field_changed__full_to_the_holder_partial_to_the_others(
    server: AsgiServer, world: World, overdraft_credits: CreditType
) -> None:
    async def scenario() -> None:
        async with socket(server) as holder, socket(server) as other:
            held = await _ask(holder, {"entity_type": COMPANY, "keys": ACME})
            assert held["data"]["credit_postpaid"] is None

            await database_sync_to_async(_grant)(world.acme, overdraft_credits, 5)
            full = await receive_entity(holder, COMPANY)
            assert (full["message_type"], full["entity_id"]) == ("full", world.acme.public_id)
            assert full["data"]["credit_postpaid"] == {overdraft_credits.public_id: {"overdraft_limit": 100.0}}
            assert full["data"]["credit_balances"] == {overdraft_credits.public_id: 5.0}
            # an SDK that does not hold Acme gets the partial, which it ignores: no stranger in its cache
            partial = await receive_entity(other, COMPANY)
            assert partial["message_type"] == "partial"
            assert set(partial["data"]) == {"metrics", "credit_balances"}

            # nothing the partial cannot carry changed: the holder is back to partials
            await database_sync_to_async(_grant)(world.acme, overdraft_credits, 5)
            again = await receive_entity(holder, COMPANY)
            assert again["message_type"] == "partial"
            assert again["data"]["credit_balances"] == {overdraft_credits.public_id: 10.0}

    asyncio.run(scenario())

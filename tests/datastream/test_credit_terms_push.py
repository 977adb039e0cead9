"""A company field a partial does not carry to every SDK (``credit_postpaid``) changed: the SDK holding the company is
sent it in full. The Node SDK ignores the field in partials (tests/sdk_node); the Python SDK, checked here, did not
get it from a usage partial either (those carry metrics and balances only)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from schematic.client import CheckFlagOptions

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.models import Company
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put
from tests.datastream.support import connected_sdk, eventually
from tests.sdk.conftest import AsgiServer

FLAG = "ai-query"
ACME = {"external_id": "acme"}


@pytest.fixture
def metered(transactional_db: None) -> tuple[Company, CreditType]:
    """Acme on a plan metering ``FLAG`` in credits (one a query) that may overdraw by 100; no credits yet."""
    credits = credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits", overdraft_limit=Decimal(100))
    query = catalog.feature_create(actor=SYSTEM_ACTOR, key=FLAG, name="AI query", feature_type="event", event_name=FLAG)
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="metered", name="Metered")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=plan, feature=query, value_type="credit", credit_type=credits,
        consumption_rate=Decimal(1),
    )  # fmt: skip
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=plan, now=timezone.now())
    return company, credits


def test_sdk__first_grant_opens_an_account_with_an_overdraft__held_company_gets_it_without_rest(
    asgi_server: AsgiServer, metered: tuple[Company, CreditType], rest_flag_calls: list[str]
) -> None:
    company, credits = metered
    costly = CheckFlagOptions(credit_cost={credits.public_id: 50})

    def grant() -> None:
        credit_grant(
            actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credits, quantity=Decimal(5), reason="purchase",
            now=timezone.now(),
        )  # fmt: skip

    async def scenario() -> None:
        async with connected_sdk(asgi_server, flag=FLAG) as (client, ds):
            assert await client.check_flag(FLAG, company=ACME, options=costly) is False
            await database_sync_to_async(grant)()

            async def overdraft_applies() -> bool:  # 5 - 50 is within the overdraft of 100
                return await client.check_flag(FLAG, company=ACME, options=costly) is True

            await eventually(overdraft_applies)
            held = await ds.get_cached_company(ACME)
            assert held is not None and held.credit_postpaid is not None

    asyncio.run(scenario())
    assert rest_flag_calls == []

"""Credit-metered features through the official SDK in REST mode: burn on track, preflight credit cost, refund."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone
from schematic.client import CheckFlagOptions, Schematic, SchematicConfig
from schematic.types import EventBodyIdentifyCompany

from catalog import services as catalog
from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.models import CreditAccount, CreditLedgerEntry
from credits.services import credit_grant
from entitlements.selectors import company_list
from tests.sdk.conftest import AsgiServer


@pytest.fixture
def sdk(asgi_server: AsgiServer) -> Iterator[Schematic]:
    client = Schematic(
        asgi_server.api_secret,
        SchematicConfig(
            base_url=asgi_server.url, event_capture_url=asgi_server.url, cache_providers=[], event_buffer_period=3600
        ),
    )
    yield client
    client.shutdown()


@pytest.fixture
def ai_credits(transactional_db: None) -> CreditType:
    credit_type = CreditType.objects.create(key="ai-credits", name="AI credits")
    query = catalog.feature_create(
        actor=SYSTEM_ACTOR, key="ai-query", name="AI query", feature_type="event", event_name="ai-query"
    )
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="starter", name="Starter")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR,
        plan=plan,
        feature=query,
        value_type="credit",
        credit_type=credit_type,
        consumption_rate=Decimal("2.5"),
    )
    return credit_type


def test_sdk_credits__burned_by_track__true_while_a_unit_is_covered_then_false_then_refund(
    sdk: Schematic, ai_credits: CreditType
) -> None:
    company = {"external_id": "acme"}
    sdk.identify(keys={"email": "a@acme.test"}, company=EventBodyIdentifyCompany(keys=company, name="Acme"))
    sdk.event_buffer.flush()
    acme = company_list(key_name="external_id", key_value="acme").get()
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=acme.pk,
        credit_type=ai_credits,
        quantity=Decimal(10),
        reason="purchase",
        now=timezone.now(),
    )

    # 10 credits at 2.5 a query: four queries are covered
    for remaining in (10, 7.5, 5, 2.5):
        result = sdk.check_flag_with_entitlement("ai-query", company=company)
        assert result.value is True, (remaining, result.reason)
        assert result.entitlement is not None and result.entitlement.credit_remaining == remaining
        sdk.track("ai-query", company=company)
        sdk.event_buffer.flush()
    refused = sdk.check_flag_with_entitlement("ai-query", company=company)
    assert (refused.value, refused.rule_type) == (False, "plan_entitlement_usage_exceeded")
    assert CreditAccount.objects.get().balance == 0
    assert CreditLedgerEntry.objects.filter(kind="burn", usage_event__isnull=False).count() == 4

    # a refund of 5 credits covers a query again, but not a preflight costing more than the balance
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=acme.pk,
        credit_type=ai_credits,
        quantity=Decimal(5),
        reason="refund",
        now=timezone.now(),
    )
    assert sdk.check_flag("ai-query", company=company) is True
    too_costly = CheckFlagOptions(credit_cost={ai_credits.public_id: 6})
    assert sdk.check_flag("ai-query", company=company, options=too_costly) is False
    affordable = CheckFlagOptions(credit_cost={ai_credits.public_id: 5})
    assert sdk.check_flag("ai-query", company=company, options=affordable) is True

"""The official ``schematichq`` sync client in REST mode against the real server (PROTOCOL.md §2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone
from schematic.client import CheckFlagOptions, Schematic, SchematicConfig, TrackOptions
from schematic.types import EventBodyIdentifyCompany

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.models import UsageCounter, UsageEvent
from tests.sdk.conftest import AsgiServer

LIMIT = 5


@pytest.fixture
def sdk(asgi_server: AsgiServer) -> Iterator[Schematic]:
    client = Schematic(
        asgi_server.api_secret,
        SchematicConfig(
            base_url=asgi_server.url,
            event_capture_url=asgi_server.url,
            cache_providers=[],  # no client-side result cache: every check reaches the server
            event_buffer_period=3600,  # flushed explicitly by the tests
        ),
    )
    yield client
    client.shutdown()


@pytest.fixture
def catalog_setup(transactional_db: None) -> None:
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    generations = catalog.feature_create(
        actor=actor, key="ai-generations", name="AI generations", feature_type="event", event_name="generation"
    )
    free = catalog.plan_create(actor=actor, key="free", name="Free")
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro")
    catalog.entitlement_create(
        actor=actor,
        plan=free,
        feature=generations,
        value_type="numeric",
        allocation=LIMIT,
        metric_period="current_month",
    )
    catalog.entitlement_create(actor=actor, plan=pro, feature=sso, value_type="boolean")
    catalog.entitlement_create(actor=actor, plan=pro, feature=generations, value_type="unlimited")


def _identify(sdk: Schematic, external_id: str, name: str) -> None:
    sdk.identify(
        keys={"email": f"owner@{external_id}.test"},
        company=EventBodyIdentifyCompany(keys={"external_id": external_id}, name=name, traits={"seats": 3}),
        name="Owner",
    )
    sdk.event_buffer.flush()


def _put_on_plan(external_id: str, plan_key: str) -> None:
    from catalog.selectors import plan_get
    from entitlements.selectors import company_list
    from entitlements.services.subscriptions import subscription_put

    company = company_list(key_name="external_id", key_value=external_id).get()
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=plan_get(identifier=plan_key), now=timezone.now())


def test_sdk_identify__new_company__created_on_initial_plan(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "acme", "Acme")
    result = sdk.check_flag_with_entitlement("ai-generations", company={"external_id": "ACME"})
    assert result.value is True
    assert result.company_id is not None and result.company_id.startswith("comp_")
    assert result.rule_type == "plan_entitlement"


def test_sdk_check__boolean_feature__on_for_plan_that_has_it_off_otherwise(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "acme", "Acme")
    _identify(sdk, "globex", "Globex")
    _put_on_plan("globex", "pro")

    assert sdk.check_flag("sso", company={"external_id": "globex"}) is True
    off = sdk.check_flag_with_entitlement("sso", company={"external_id": "acme"})
    assert off.value is False
    assert off.reason == "No rules matched; default value for flag"


def test_sdk_track__monthly_limit__true_at_n_minus_1_false_at_n(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "acme", "Acme")
    company = {"external_id": "acme"}
    for used in range(LIMIT):
        result = sdk.check_flag_with_entitlement("ai-generations", company=company)
        assert result.value is True, (used, result.reason)
        assert result.feature_usage == used
        sdk.track("generation", company=company)
        sdk.event_buffer.flush()

    refused = sdk.check_flag_with_entitlement("ai-generations", company=company)
    assert refused.value is False
    assert refused.rule_type == "plan_entitlement_usage_exceeded"
    assert UsageEvent.objects.count() == LIMIT


def test_sdk_track__same_idempotency_key_twice__counts_once(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "acme", "Acme")
    company = {"external_id": "acme"}
    sdk.track("generation", company=company, quantity=2, options=TrackOptions(idempotency_key="order-1"))
    sdk.event_buffer.flush()
    sdk.track("generation", company=company, quantity=2, options=TrackOptions(idempotency_key="order-1"))
    sdk.event_buffer.flush()

    assert UsageEvent.objects.count() == 1
    assert UsageCounter.objects.get(period="current_month", month_reset="first_of_month").value == 2
    assert sdk.check_flag_with_entitlement("ai-generations", company=company).feature_usage == 2


def test_sdk_check__preflight_usage__answers_for_the_simulated_amount(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "acme", "Acme")
    company = {"external_id": "acme"}
    sdk.track("generation", company=company, quantity=LIMIT - 2)
    sdk.event_buffer.flush()

    assert sdk.check_flag("ai-generations", company=company, options=CheckFlagOptions(usage=1)) is True
    assert sdk.check_flag("ai-generations", company=company, options=CheckFlagOptions(usage=2)) is False
    # The preflight is a question, not usage: nothing was recorded.
    assert sdk.check_flag_with_entitlement("ai-generations", company=company).feature_usage == LIMIT - 2


def test_sdk_check_flags__every_flag_returned(sdk: Schematic, catalog_setup: None) -> None:
    _identify(sdk, "globex", "Globex")
    _put_on_plan("globex", "pro")

    results = sdk.check_flags(company={"external_id": "globex"})
    assert {result.flag: result.value for result in results} == {"ai-generations": True, "sso": True}


def test_sdk_check__unknown_company__default_and_says_so(sdk: Schematic, catalog_setup: None) -> None:
    result = sdk.check_flag_with_entitlement("sso", company={"external_id": "nobody"})
    assert result.value is False
    assert result.company_id is None
    assert result.reason == "Company not found"

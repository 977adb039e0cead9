"""The compiler turns rows into documents the official SDK accepts and that carry the effective entitlements."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from schematic.types import RulesengineCompany, RulesengineFlag, RulesengineUser

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.documents.compiler import company_document_compile, flags_compile, user_document_compile
from entitlements.documents.wire import flag_id_for
from entitlements.models import Company, User
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put
from entitlements.services.users import user_create

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def acme() -> Company:
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    calls = catalog.feature_create(actor=actor, key="calls", name="Calls", feature_type="event", event_name="call")
    seats = catalog.feature_create(actor=actor, key="seats", name="Seats", feature_type="trait", trait_key="seats_used")
    catalog.feature_create(actor=actor, key="beta", name="Beta", forced_value=True)
    free = catalog.plan_create(actor=actor, key="free", name="Free")
    boost = catalog.plan_create(actor=actor, key="boost", name="Boost", plan_type="add_on")
    catalog.entitlement_create(
        actor=actor, plan=free, feature=calls, value_type="numeric", allocation=100, metric_period="current_month"
    )
    catalog.entitlement_create(actor=actor, plan=free, feature=seats, value_type="numeric", allocation=5)
    catalog.entitlement_create(
        actor=actor, plan=boost, feature=calls, value_type="numeric", allocation=50, metric_period="current_day"
    )
    catalog.entitlement_create(actor=actor, plan=boost, feature=sso, value_type="boolean")
    company = company_create(
        actor=actor, name="Acme", keys={"external_id": "acme"}, traits={"seats_used": 2, "region": "eu"}, now=NOW
    )
    subscription_put(actor=actor, company=company, plan=free, add_ons=[boost], now=NOW)
    return company


def _rules_by_flag(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rules: dict[str, list[dict[str, Any]]] = {}
    for rule in document["rules"]:
        rules.setdefault(rule["flag_id"], []).append(rule)
    return rules


def test_flags_compile__every_feature__sdk_valid_with_kill_switch_as_global_override(acme: Company) -> None:
    flags = flags_compile()
    assert [flag["key"] for flag in flags] == ["beta", "calls", "seats", "sso"]
    for flag in flags:
        RulesengineFlag.model_validate(flag)
        assert flag["default_value"] is False
    beta = flags[0]
    assert [(r["rule_type"], r["value"]) for r in beta["rules"]] == [("global_override", True)]


def test_company_document__sdk_valid_with_keys_plans_traits_metrics(acme: Company) -> None:
    compiled = company_document_compile(company_id=acme.pk, now=NOW)
    assert compiled is not None
    document = compiled.document
    RulesengineCompany.model_validate(document)
    assert document["keys"] == {"external_id": "acme"}
    assert len(document["plan_ids"]) == 2 and document["base_plan_id"] == document["plan_ids"][0]
    assert {t["value"] for t in document["traits"]} == {"2", "eu"}
    assert {(m["event_subtype"], m["period"], m["month_reset"]) for m in document["metrics"]} >= {
        ("call", "current_month", "first_of_month"), ("call", "current_day", "first_of_month"),
    }  # fmt: skip
    assert document["subscription"]["period_start"].endswith("Z")
    assert compiled.valid_until == dt.datetime(2026, 11, 22, tzinfo=dt.UTC)  # the next day window ends first


def test_company_document__limits_merge_most_generous_across_plan_and_add_on(acme: Company) -> None:
    # Given Free gives 100 calls a month and the Boost add-on 50 a day (≈1,500 a month)
    document = company_document_compile(company_id=acme.pk, now=NOW).document  # type: ignore[union-attr]
    calls = _rules_by_flag(document)[flag_id_for(_feature_id("calls"))]
    granting = next(r for r in calls if r["rule_type"] == "plan_entitlement")
    metric = granting["conditions"][0]
    # Then the daily allowance wins, and a usage-exceeded rule follows it
    assert (metric["metric_value"], metric["metric_period"]) == (50, "current_day")
    assert granting["name"] == "Boost: Calls"
    assert [r["rule_type"] for r in calls] == ["plan_entitlement", "plan_entitlement_usage_exceeded"]
    summary = next(e for e in document["entitlements"] if e["feature_key"] == "calls")
    assert (summary["allocation"], summary["usage"], summary["metric_reset_at"]) == (50, 0, "2026-11-22T00:00:00Z")


def test_company_document__trait_metered_feature__trait_condition_on_usage_trait(acme: Company) -> None:
    document = company_document_compile(company_id=acme.pk, now=NOW).document  # type: ignore[union-attr]
    seats = _rules_by_flag(document)[flag_id_for(_feature_id("seats"))][0]
    condition = seats["conditions"][0]
    assert (condition["condition_type"], condition["operator"], condition["trait_value"]) == ("trait", "lt", "5")
    assert condition["trait_definition"]["comparable_type"] == "int"
    summary = next(e for e in document["entitlements"] if e["feature_key"] == "seats")
    assert (summary["allocation"], summary["usage"]) == (5, 2)


def test_company_document__no_subscription__no_rules(db: None) -> None:
    company = company_create(actor=SYSTEM_ACTOR, name="Loner", now=NOW)  # the catalog has no plan yet
    compiled = company_document_compile(company_id=company.pk, now=NOW)
    assert compiled is not None
    assert compiled.document["rules"] == [] and compiled.document["plan_ids"] == []
    RulesengineCompany.model_validate(compiled.document)


def test_user_document__sdk_valid(acme: Company) -> None:
    user = user_create(actor=SYSTEM_ACTOR, name="Ann", keys={"email": "ann@acme.test"}, traits={"admin": True})
    document = user_document_compile(user_id=user.pk)
    RulesengineUser.model_validate(document)
    assert document is not None and document["keys"] == {"email": "ann@acme.test"}
    assert User.objects.count() == 1


def _feature_id(key: str) -> str:
    from catalog.models import Feature

    return Feature.objects.get(key=key).public_id

"""``GET /companies/{id}/entitlements`` and ``…/features/{key}/explain``: what a company may do, and why."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db: None) -> str:
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    catalog.feature_create(actor=actor, key="audit-log", name="Audit log")
    generations = catalog.feature_create(
        actor=actor, key="ai-generations", name="AI generations", feature_type="event", event_name="generation",
        unit_singular="generation", unit_plural="generations",
    )  # fmt: skip
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro", trial_days=0)
    catalog.entitlement_create(actor=actor, plan=pro, feature=sso, value_type="boolean")
    catalog.entitlement_create(
        actor=actor, plan=pro, feature=generations, value_type="numeric", allocation=1000,
        metric_period="current_month",
    )  # fmt: skip
    company = company_create(actor=actor, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    subscription_put(actor=actor, company=company, plan=pro, now=timezone.now())
    return company.public_id


def _use(quantity: int) -> None:
    event = {"type": "track", "body": {"event": "generation", "company": {"external_id": "acme"}, "quantity": quantity}}
    batch_capture(events=[event], actor=SYSTEM_ACTOR, now=timezone.now())


def _by_feature(api: APIClient, company_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/companies/{company_id}/entitlements")
    assert response.status_code == 200, response.json()
    return {row["feature"]: row for row in response.json()}


def test_company_entitlements__every_feature__value_usage_remaining_source(api: APIClient, acme: str) -> None:
    _use(250)
    rows = _by_feature(api, acme)

    assert set(rows) == {"sso", "audit-log", "ai-generations"}
    generations = rows["ai-generations"]
    assert (generations["value"], generations["allocation"], generations["usage"], generations["remaining"]) == (
        True, 1000, 250, 750
    )  # fmt: skip
    assert generations["metric_period"] == "current_month"
    assert generations["resets_at"] is not None
    assert generations["source"]["kind"] == "plan" and generations["source"]["name"] == "Pro"
    assert generations["summary"] == "Pro gives 1,000 generations per month; 250 used; allowed."
    assert rows["sso"]["value"] is True and rows["sso"]["summary"] == "Pro includes SSO; on."
    audit = rows["audit-log"]
    assert (audit["value"], audit["source"]["kind"]) == (False, "default")
    assert audit["reason"] == "No rules matched; default value for flag"


def test_company_entitlements__limit_reached__blocked_until_reset(api: APIClient, acme: str) -> None:
    _use(1000)
    generations = _by_feature(api, acme)["ai-generations"]
    assert generations["value"] is False
    assert generations["remaining"] == 0
    assert generations["rule_type"] == "plan_entitlement_usage_exceeded"
    assert generations["summary"].startswith("Pro gives 1,000 generations per month; 1,000 used; blocked until 1 ")


def test_company_feature_explain__limit_reached__trace_in_plain_words(api: APIClient, acme: str) -> None:
    _use(1000)
    response = api.get(f"/api/v1/companies/{acme}/features/ai-generations/explain")
    assert response.status_code == 200, response.json()
    lines = response.json()["lines"]
    assert lines[0] == "plan entitlement 'Pro: AI generations' (would turn AI generations on): did not match"
    assert "usage of 'generation' per month: 1000 is less than 1000" in lines[1] and lines[1].endswith("→ no")
    assert lines[2].startswith("plan limit reached") and lines[2].endswith(": matched")
    assert lines[-1].startswith("Decision: off — Matched plan entitlement usage exceeded rule")


def test_company_feature_explain__unknown_feature_or_company__404(api: APIClient, acme: str) -> None:
    assert api.get(f"/api/v1/companies/{acme}/features/nope/explain").status_code == 404
    assert api.get("/api/v1/companies/comp_nope/entitlements").status_code == 404

"""Company overrides through the API and the SDK check: grant, expiry at the instant, revoke, merging, bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.models import CompanyOverride
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.overrides import overrides_expire_due
from entitlements.services.subscriptions import subscription_put

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db: None) -> str:
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    calls = catalog.feature_create(actor=actor, key="calls", name="Calls", feature_type="event", event_name="call")
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro")
    catalog.entitlement_create(actor=actor, plan=pro, feature=sso, value_type="boolean")
    catalog.entitlement_create(
        actor=actor, plan=pro, feature=calls, value_type="numeric", allocation=100, metric_period="current_month"
    )
    company = company_create(actor=actor, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    subscription_put(actor=actor, company=company, plan=pro, now=timezone.now())
    return company.public_id


def _use(quantity: int) -> None:
    event = {"type": "track", "body": {"event": "call", "company": {"external_id": "acme"}, "quantity": quantity}}
    batch_capture(events=[event], actor=SYSTEM_ACTOR, now=timezone.now())


def _check(api: APIClient, flag: str) -> dict[str, Any]:
    response = api.post(f"/flags/{flag}/check", {"company": {"external_id": "acme"}})
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()["data"]
    return data


def _grant(api: APIClient, company: str, **fields: Any) -> Any:
    return api.post(f"/api/v1/companies/{company}/overrides", {"note": "pilot for the Q4 deal", **fields})


def test_override__boolean_off__switches_a_plan_feature_off_then_revoke_restores(api: APIClient, acme: str) -> None:
    assert _check(api, "sso")["value"] is True
    response = _grant(api, acme, feature="sso", value_type="boolean", value=False)
    assert response.status_code == 201, response.json()
    data = _check(api, "sso")
    assert (data["value"], data["rule_type"]) == (False, "company_override")
    assert api.delete(f"/api/v1/companies/{acme}/overrides/sso").status_code == 200
    assert _check(api, "sso")["value"] is True


def test_override__higher_limit__wins_while_usage_between_limits(api: APIClient, acme: str) -> None:
    _use(150)
    assert _check(api, "calls")["value"] is False
    _grant(api, acme, feature="calls", value_type="numeric", allocation=1000, metric_period="current_month")
    data = _check(api, "calls")
    assert (data["value"], data["rule_type"], data["feature_allocation"]) == (True, "company_override", 1000)


def test_override__lower_limit__merges_most_generously_so_plan_still_applies(api: APIClient, acme: str) -> None:
    _use(70)
    _grant(api, acme, feature="calls", value_type="numeric", allocation=50, metric_period="current_month")
    data = _check(api, "calls")
    assert (data["value"], data["rule_type"], data["feature_allocation"]) == (True, "plan_entitlement", 100)


def test_override__past_its_expiry__stops_applying_at_once_and_job_marks_it_once(api: APIClient, acme: str) -> None:
    expires_at = timezone.now() + dt.timedelta(hours=1)
    _grant(api, acme, feature="sso", value_type="boolean", value=False, expires_at=expires_at.isoformat())
    assert _check(api, "sso")["value"] is False

    # When time passes the expiry (the check reads "now" at the boundary)
    later = expires_at + dt.timedelta(seconds=1)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _check(api, "sso")["value"] is True  # before any job ran
        assert overrides_expire_due(actor=SYSTEM_ACTOR, now=later) == 1
        assert overrides_expire_due(actor=SYSTEM_ACTOR, now=later) == 0
    override = CompanyOverride.objects.get()
    assert override.state == "expired"
    assert AuditEntry.objects.filter(action="override.expired").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"feature": "nope", "value_type": "boolean", "value": True}, "feature"),
        ({"feature": "sso", "value_type": "boolean", "value": True, "allocation": 5}, "allocation"),
        ({"feature": "sso", "value_type": "numeric", "allocation": 5}, "value_type"),
        (
            {"feature": "sso", "value_type": "boolean", "value": True, "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"feature": "sso", "value_type": "boolean"}, "value"),
        ({"feature": "calls", "value_type": "numeric", "metric_period": "current_month"}, "allocation"),
        ({"feature": "sso", "value_type": "boolean", "value": "yes"}, "value"),
        ({"feature": "sso", "value_type": "boolean", "value": True, "note": ""}, "note"),
    ],
)
def test_override__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, acme: str, fields: dict[str, Any], field: str
) -> None:
    response = api.post(f"/api/v1/companies/{acme}/overrides", {"note": "why", **fields})
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not CompanyOverride.objects.exists()


def test_override__second_active_for_same_feature__400(api: APIClient, acme: str) -> None:
    assert _grant(api, acme, feature="sso", value_type="boolean", value=False).status_code == 201
    response = _grant(api, acme, feature="sso", value_type="boolean", value=True)
    assert response.status_code == 400 and "feature" in response.json()["fields"]


def test_override__patch_changes_value_and_is_audited(api: APIClient, acme: str) -> None:
    _grant(api, acme, feature="calls", value_type="numeric", allocation=500, metric_period="current_month")
    response = api.patch(f"/api/v1/companies/{acme}/overrides/calls", {"allocation": 800, "note": "renewal"})
    assert response.status_code == 200, response.json()
    assert response.json()["allocation"] == 800
    entry = AuditEntry.objects.get(action="override.updated")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["allocation"], entry.after["allocation"], entry.note) == (500, 800, "renewal")
    assert entry.actor_kind == "api_key" and entry.company_id == acme
    listed = api.get(f"/api/v1/companies/{acme}/overrides?state=active").json()
    assert [row["feature"] for row in listed["results"]] == ["calls"]


def test_override__board_source_says_who_and_until_when(api: APIClient, acme: str, client: Client) -> None:
    expires_at = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    _grant(api, acme, feature="sso", value_type="boolean", value=True, expires_at=expires_at.isoformat())
    rows = {row["feature"]: row for row in api.get(f"/api/v1/companies/{acme}/entitlements").json()}
    source = rows["sso"]["source"]
    assert source["kind"] == "override" and source["granted_by"] == "tests"
    assert source["note"] == "pilot for the Q4 deal"
    assert json.dumps(source["expires_at"]).startswith('"' + expires_at.strftime("%Y-%m-%dT%H:%M"))


def test_override__reason_given__stored_answered_and_audited(api: APIClient, acme: str) -> None:
    response = _grant(api, acme, feature="sso", value_type="boolean", value=False, reason="incident")
    assert response.status_code == 201, response.json()
    assert response.json()["reason"] == "incident"
    override = CompanyOverride.objects.get(public_id=response.json()["id"])
    entry = AuditEntry.objects.get(action="override.granted", target_id=override.public_id)
    assert entry.after is not None and entry.after["reason"] == "incident"


def test_override__no_reason__granted_with_an_empty_reason(api: APIClient, acme: str) -> None:
    response = _grant(api, acme, feature="sso", value_type="boolean", value=False)
    assert (response.status_code, response.json()["reason"]) == (201, "")


def test_override__unknown_reason__400_naming_the_field_and_nothing_written(api: APIClient, acme: str) -> None:
    response = _grant(api, acme, feature="sso", value_type="boolean", value=False, reason="because")
    assert response.status_code == 400
    assert "reason" in json.dumps(response.json())
    assert not CompanyOverride.objects.exists()

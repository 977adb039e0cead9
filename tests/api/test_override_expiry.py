"""Expiry means one thing everywhere at the same instant: past ``expires_at`` an override is gone for checks, for the
write path (a new one may be granted), for the API's reads and for the back-office pages — whether or not the
periodic job has marked it expired yet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.models import CompanyOverride, OverrideState
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.subscriptions import subscription_put

pytestmark = pytest.mark.django_db


@pytest.fixture
def lapsed(db: None) -> CompanyOverride:
    """An override switching SSO off whose expiry has passed, not yet marked by the expiry job."""
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=pro, feature=sso, value_type="boolean")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=pro, now=timezone.now())
    override = override_grant(
        actor=SYSTEM_ACTOR,
        company=company,
        feature=sso,
        value_type="boolean",
        value=False,
        expires_at=timezone.now() + dt.timedelta(hours=1),
        note="paused for a week",
        now=timezone.now(),
    )
    # Time passes: the expiry comes, the job has not run yet.
    CompanyOverride.objects.filter(pk=override.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    override.refresh_from_db()
    assert override.state == OverrideState.ACTIVE
    return override


def _overrides_url(override: CompanyOverride) -> str:
    return f"/api/v1/companies/{override.company.public_id}/overrides"


def test_lapsed_override__check_sees_the_plan_and_a_new_override_can_be_granted(
    api: APIClient, lapsed: CompanyOverride
) -> None:
    check = api.post("/flags/sso/check", {"company": {"external_id": "acme"}}).json()["data"]
    assert (check["value"], check["rule_type"]) == (True, "plan_entitlement")
    # When the account executive grants a new override for the same feature
    response = api.post(
        _overrides_url(lapsed), {"feature": "sso", "value_type": "boolean", "value": False, "note": "another week"}
    )
    # Then it is granted, and the lapsed one is marked expired at its expiry, with its audit entry
    assert response.status_code == 201, response.json()
    lapsed.refresh_from_db()
    assert (lapsed.state, lapsed.ended_at) == (OverrideState.EXPIRED, lapsed.expires_at)
    assert AuditEntry.objects.filter(action="override.expired", target_id=lapsed.public_id).count() == 1
    assert api.post("/flags/sso/check", {"company": {"external_id": "acme"}}).json()["data"]["value"] is False


def test_lapsed_override__api_reads_it_as_expired(api: APIClient, lapsed: CompanyOverride) -> None:
    url = _overrides_url(lapsed)
    assert api.get(f"{url}/sso").status_code == 404
    assert api.patch(f"{url}/sso", {"expires_at": None}).status_code == 404
    assert api.delete(f"{url}/sso").status_code == 404
    assert api.get(url, {"state": "active"}).json()["results"] == []
    (listed,) = api.get(url, {"state": "expired"}).json()["results"]
    assert (listed["id"], listed["state"]) == (lapsed.public_id, "expired")


def test_lapsed_override__back_office_shows_it_expired_and_off_the_company_page(
    admin_client: Client, lapsed: CompanyOverride
) -> None:
    company_page: Any = admin_client.get(reverse("admin:entitlements_company_change", args=[lapsed.company.pk]))
    assert company_page.context["company_header"].overrides == []  # "exceptions in force" does not list it
    assert lapsed.public_id not in company_page.content.decode()
    changelist = reverse("admin:entitlements_companyoverride_changelist")
    active: Any = admin_client.get(changelist, {"state": "active"})
    assert lapsed.public_id not in [o.public_id for o in active.context["cl"].result_list]
    expired: Any = admin_client.get(changelist, {"state": "expired"})
    assert [o.public_id for o in expired.context["cl"].result_list] == [lapsed.public_id]
    assert '<td class="field-state_now">expired</td>' in expired.content.decode()

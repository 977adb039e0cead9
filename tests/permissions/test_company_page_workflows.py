"""What an account executive does on the company page: grant an exception through the guided flow, revoke it from
the page, extend a trial."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.models import CompanyOverride, Subscription
from entitlements.services.trials import subscription_start_trial
from tests.admin.conftest import Catalog
from tests.permissions.forms import company_form


def _check(client: Client, secret: str, flag: str) -> dict[str, Any]:
    response = client.post(
        f"/flags/{flag}/check",
        json.dumps({"company": {"external_id": "acme"}}),
        content_type="application/json",
        headers={"X-Schematic-Api-Key": secret},
    )
    data: dict[str, Any] = response.json()["data"]
    return data


def _exception(catalog: Catalog, expires: dt.datetime, **changes: str) -> dict[str, str]:
    """The guided flow's form for switching SSO on until ``expires``, as a browser posts it."""
    return {
        "feature": catalog.boolean_feature.key, "value_type": "boolean", "value": "true", "expiry": "date",
        "expires_at_0": expires.strftime("%Y-%m-%d"), "expires_at_1": expires.strftime("%H:%M:%S"),
        "reason": "sales_deal", "note": "pilot for the Q4 deal", **changes,
    }  # fmt: skip


def test_company_page__ae_grants_exception_through_the_flow__check_changes_then_stops_at_expiry(
    account_executive_client: Client, catalog: Catalog, api_secret: str
) -> None:
    client = account_executive_client
    company = catalog.company
    assert _check(client, api_secret, "sso")["value"] is False
    page = client.get(reverse("admin:entitlements_company_change", args=[company.pk])).content.decode()
    grant_url = reverse("admin:entitlements_company_grant", args=[company.pk])
    assert grant_url in page  # the header's "Grant an exception"
    assert f"{grant_url}?feature=sso" in client.get(grant_url).content.decode()
    assert client.get(grant_url, {"feature": "sso"}).status_code == 200
    expires = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)

    preview = client.post(grant_url, _exception(catalog, expires, step="preview"))
    assert preview.status_code == 200
    assert "After the change" in preview.content.decode()
    assert not CompanyOverride.objects.filter(feature=catalog.boolean_feature).exists()  # a preview writes nothing
    response = client.post(grant_url, _exception(catalog, expires, step="confirm"))

    assert response.status_code == 302, response.context and response.context["form"].errors
    granted = CompanyOverride.objects.get(feature=catalog.boolean_feature)
    assert (granted.note, granted.reason, granted.granted_by_label, granted.expires_at) == (
        "pilot for the Q4 deal",
        "sales_deal",
        "account-executives",
        expires,
    )
    assert (_check(client, api_secret, "sso")["value"], _check(client, api_secret, "sso")["rule_type"]) == (
        True, "company_override"
    )  # fmt: skip
    with mock.patch("django.utils.timezone.now", return_value=expires + dt.timedelta(seconds=1)):
        assert _check(client, api_secret, "sso")["value"] is False  # at once, no job needed
    assert AuditEntry.objects.filter(action="override.granted", actor_label="account-executives").count() == 1


def test_company_page__ae_revokes_exception_from_the_page__confirmed_with_reason_then_back_on_the_page(
    account_executive_client: Client, catalog: Catalog, api_secret: str
) -> None:
    client = account_executive_client
    company = catalog.company
    grant_url = reverse("admin:entitlements_company_grant", args=[company.pk])
    client.post(grant_url, _exception(catalog, timezone.now() + dt.timedelta(days=1), step="confirm"))
    assert _check(client, api_secret, "sso")["value"] is True
    override = CompanyOverride.objects.get(feature=catalog.boolean_feature)
    company_url = reverse("admin:entitlements_company_change", args=[company.pk])
    assert override.public_id in client.get(company_url).content.decode()  # listed with its Revoke… button
    revoke = {"action": "revoke", "_selected_action": str(override.pk), "next": company_url}
    overrides_url = reverse("admin:entitlements_companyoverride_changelist")

    confirmation = client.post(overrides_url, revoke)
    assert confirmation.status_code == 200
    assert CompanyOverride.objects.get(pk=override.pk).state == "active"
    response = client.post(overrides_url, {**revoke, "confirm": "yes", "note": "deal lost"})

    assert (response.status_code, response["Location"]) == (302, company_url)
    assert CompanyOverride.objects.get(pk=override.pk).state == "revoked"
    assert _check(client, api_secret, "sso")["value"] is False


def test_company_page__ae_extends_trial__end_moves_and_is_audited(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company = catalog.company
    subscription_start_trial(actor=SYSTEM_ACTOR, company=company, plan=catalog.pro, days=7, now=timezone.now())
    new_end = (timezone.now() + dt.timedelta(days=21)).replace(second=0, microsecond=0)
    data = company_form(company)
    data.update(trial_ends_at_0=new_end.strftime("%Y-%m-%d"), trial_ends_at_1=new_end.strftime("%H:%M:%S"))

    response = account_executive_client.post(reverse("admin:entitlements_company_change", args=[company.pk]), data)

    assert response.status_code == 302, response.context and response.context.get("errors")
    live = Subscription.objects.exclude(status="canceled").get(company=company)
    assert (live.status, live.trial_ends_at) == ("trialing", new_end)
    assert AuditEntry.objects.filter(action="trial.extended", company_id=company.public_id).count() == 1


def test_company_list__start_trial_action__companies_trialing_the_plan(
    account_executive_client: Client, catalog: Catalog
) -> None:
    chosen = {"action": "start_trial_pro", "index": "0", "_selected_action": [str(catalog.company.pk)]}
    confirmation = account_executive_client.post(reverse("admin:entitlements_company_changelist"), chosen)
    assert confirmation.status_code == 200  # first: what happens, and where the company lands afterwards
    assert "When the 14-day trial ends, it" in confirmation.content.decode()
    assert not Subscription.objects.filter(company=catalog.company, status="trialing").exists()
    response = account_executive_client.post(
        reverse("admin:entitlements_company_changelist"), {**chosen, "confirm": "yes"}
    )
    assert response.status_code == 302
    live = Subscription.objects.exclude(status="canceled").get(company=catalog.company)
    assert (live.plan, live.status) == (catalog.pro, "trialing")
    assert live.trial_ends_at is not None
    assert AuditEntry.objects.filter(action="trial.started", actor_label="account-executives").count() == 1


def test_company_list__start_trial_action__not_offered_to_support(support_client: Client, catalog: Catalog) -> None:
    response = support_client.post(
        reverse("admin:entitlements_company_changelist"),
        {"action": "start_trial_pro", "index": "0", "_selected_action": [str(catalog.company.pk)]},
    )
    assert response.status_code in (200, 302, 403)
    assert Subscription.objects.exclude(status="canceled").get(company=catalog.company).status == "active"

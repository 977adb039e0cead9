"""Overrides through the admin: an account executive grants one with an expiry and a note, and the check changes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from entitlements.models import CompanyOverride
from tests.admin.conftest import Catalog


def _check(client: Client, secret: str, flag: str) -> dict[str, Any]:
    response = client.post(
        f"/flags/{flag}/check",
        json.dumps({"company": {"external_id": "acme"}}),
        content_type="application/json",
        headers={"X-Schematic-Api-Key": secret},
    )
    data: dict[str, Any] = response.json()["data"]
    return data


def test_override_admin__grant_with_expiry_and_note__check_changes(
    admin_client: Client, catalog: Catalog, api_secret: str
) -> None:
    assert _check(admin_client, api_secret, "sso")["value"] is False
    expires = timezone.now() + dt.timedelta(days=2)
    response = admin_client.post(
        reverse("admin:entitlements_companyoverride_add"),
        {
            "company": catalog.company.pk, "feature": catalog.boolean_feature.pk, "value_type": "boolean",
            "value": "true", "allocation": "", "metric_period": "", "month_reset": "", "trait_key": "",
            "expires_at_0": expires.strftime("%Y-%m-%d"), "expires_at_1": expires.strftime("%H:%M:%S"),
            "note": "pilot for the Q4 deal", "reason": "sales_deal",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    override = CompanyOverride.objects.get(feature=catalog.boolean_feature)
    assert (override.granted_by_label, override.note, override.reason) == (
        "admin",
        "pilot for the Q4 deal",
        "sales_deal",
    )
    data = _check(admin_client, api_secret, "sso")
    assert (data["value"], data["rule_type"]) == (True, "company_override")
    assert AuditEntry.objects.filter(action="override.granted", actor_kind="admin").count() == 1


def test_override_admin__allocation_on_boolean_and_past_expiry__errors_and_nothing_written(
    admin_client: Client, catalog: Catalog
) -> None:
    response = admin_client.post(
        reverse("admin:entitlements_companyoverride_add"),
        {
            "company": catalog.company.pk, "feature": catalog.boolean_feature.pk, "value_type": "boolean",
            "value": "true", "allocation": "5", "metric_period": "", "month_reset": "", "trait_key": "",
            "expires_at_0": "2020-01-01", "expires_at_1": "00:00:00", "note": "",
        },
    )  # fmt: skip
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"allocation", "expires_at", "note", "reason"} <= set(errors)
    assert not CompanyOverride.objects.filter(feature=catalog.boolean_feature).exists()


def test_override_admin__revoke_action__plan_value_restored(
    admin_client: Client, catalog: Catalog, api_secret: str
) -> None:
    from core.actors import SYSTEM_ACTOR
    from entitlements.services.overrides import override_grant

    override = override_grant(
        actor=SYSTEM_ACTOR, company=catalog.company, feature=catalog.boolean_feature, value_type="boolean",
        value=True, note="trial extension", now=timezone.now(),
    )  # fmt: skip
    assert _check(admin_client, api_secret, "sso")["value"] is True
    chosen = {"action": "revoke", "_selected_action": [override.pk]}
    changelist = reverse("admin:entitlements_companyoverride_changelist")
    confirmation = admin_client.post(changelist, chosen)
    assert confirmation.status_code == 200  # first: which exceptions end, and a reason
    assert CompanyOverride.objects.get(pk=override.pk).state == "active"
    assert admin_client.post(changelist, {**chosen, "confirm": "yes"}).status_code == 200  # no reason: refused
    assert CompanyOverride.objects.get(pk=override.pk).state == "active"
    response = admin_client.post(changelist, {**chosen, "confirm": "yes", "note": "the pilot is over"})
    assert response.status_code == 302
    assert CompanyOverride.objects.get(pk=override.pk).state == "revoked"
    assert _check(admin_client, api_secret, "sso")["value"] is False

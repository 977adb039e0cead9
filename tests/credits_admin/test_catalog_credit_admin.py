"""Pricing edits credit types (with prices), bundles and the credits plans include through the admin, each save one
service call with one audit entry; credit types and bundles are never deleted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import reverse

from catalog.models import CreditBundle, CreditPrice, CreditType, PlanCreditGrant
from core.models import AuditEntry
from tests.credits_admin.conftest import Catalog
from tests.credits_admin.support import last_audit_id
from tests.permissions.forms import inline


def _errors(response: Any) -> str:
    return str(response.context["errors"]) if response.context and "errors" in response.context else ""


def _credit_type_form(prices: list[dict[str, Any]], initial: int = 0, **changes: Any) -> dict[str, Any]:
    data = {
        "key": "storage", "name": "Storage credits", "singular_name": "credit", "plural_name": "credits",
        "burn_order": "fifo", "default_expiry_days": "365", "overdraft_limit": "", "low_balance_threshold": "10",
        "low_balance_percent": "", **inline("prices", prices, initial=initial),
    }  # fmt: skip
    return {**data, **changes}


def _actions(since: int) -> list[tuple[str, Any, Any]]:
    return list(AuditEntry.objects.filter(pk__gt=since).order_by("pk").values_list("action", "before", "after"))


def test_credit_type_admin__pricing_adds_with_prices__one_audit_entry(pricing_client: Client, db: None) -> None:
    since = last_audit_id()
    prices = [{"currency": "usd", "unit_amount_minor": "0.5"}, {"currency": "eur", "unit_amount_minor": "0.45"}]
    response = pricing_client.post(reverse("admin:catalog_credittype_add"), _credit_type_form(prices))
    assert response.status_code == 302, _errors(response)
    credit_type = CreditType.objects.get(key="storage")
    assert (credit_type.burn_order, credit_type.default_expiry_days, credit_type.low_balance_threshold) == (
        "fifo", 365, 10
    )  # fmt: skip
    assert dict(credit_type.prices.values_list("currency", "unit_amount_minor")) == {
        "usd": Decimal("0.5"),
        "eur": Decimal("0.45"),
    }
    ((action, _, after),) = _actions(since)
    assert action == "credit_type.created" and after["prices"] == {"eur": "0.45", "usd": "0.5"}


def test_credit_type_admin__pricing_changes_price_and_removes_one__one_update_entry(
    pricing_client: Client, catalog: Catalog
) -> None:
    # Given AI credits cost 0.5 usd; Pricing adds eur, so two prices exist
    ai = CreditType.objects.get(key="ai")
    usd = CreditPrice.objects.get(credit_type=ai, currency="usd")
    url = reverse("admin:catalog_credittype_change", args=[ai.pk])
    base = {"key": "ai", "name": "AI credits", "default_expiry_days": "", "low_balance_threshold": ""}
    row = {"id": usd.pk, "credit_type": ai.pk, "currency": "usd", "unit_amount_minor": "0.5"}
    added = pricing_client.post(
        url, _credit_type_form([row, {"currency": "eur", "unit_amount_minor": "0.4"}], initial=1, **base)
    )
    assert added.status_code == 302, _errors(added)
    since = last_audit_id()
    # When Pricing renames it, raises usd and deletes eur in one save
    eur = CreditPrice.objects.get(credit_type=ai, currency="eur")
    rows = [
        {**row, "unit_amount_minor": "0.6"},
        {"id": eur.pk, "credit_type": ai.pk, "currency": "eur", "unit_amount_minor": "0.4", "DELETE": "on"},
    ]
    response = pricing_client.post(url, _credit_type_form(rows, initial=2, **{**base, "name": "AI tokens"}))
    # Then one update entry records the changes
    assert response.status_code == 302, _errors(response)
    assert dict(ai.prices.values_list("currency", "unit_amount_minor")) == {"usd": Decimal("0.6")}
    ((action, before, after),) = _actions(since)
    assert action == "credit_type.updated"
    assert (before, after) == (
        {"name": "AI credits", "prices": {"eur": "0.4", "usd": "0.5"}},
        {"name": "AI tokens", "prices": {"usd": "0.6"}},
    )


def test_credit_type_admin__delete__never_offered(pricing_client: Client, catalog: Catalog) -> None:
    ai = CreditType.objects.get(key="ai")
    page = pricing_client.get(reverse("admin:catalog_credittype_change", args=[ai.pk])).content.decode()
    assert reverse("admin:catalog_credittype_delete", args=[ai.pk]) not in page
    assert (
        pricing_client.post(reverse("admin:catalog_credittype_delete", args=[ai.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert CreditType.objects.filter(pk=ai.pk).exists()


def test_credit_bundle_admin__pricing_adds_and_withdraws__audited(pricing_client: Client, catalog: Catalog) -> None:
    ai, since = CreditType.objects.get(key="ai"), last_audit_id()
    data = {
        "key": "ai-5000", "name": "5,000 AI credits", "credit_type": ai.pk, "quantity": "5000",
        "price_minor": "3900", "currency": "usd", "expiry_days": "365", "is_active": "on",
    }  # fmt: skip
    added = pricing_client.post(reverse("admin:catalog_creditbundle_add"), data)
    assert added.status_code == 302, _errors(added)
    bundle = CreditBundle.objects.get(key="ai-5000")
    changed = pricing_client.post(
        reverse("admin:catalog_creditbundle_change", args=[bundle.pk]), {**data, "is_active": ""}
    )
    assert changed.status_code == 302, _errors(changed)
    bundle.refresh_from_db()
    assert bundle.is_active is False
    assert [(action, after) for action, _, after in _actions(since)][1] == (
        "credit_bundle.updated",
        {"is_active": False},
    )
    assert [action for action, _, _ in _actions(since)] == ["credit_bundle.created", "credit_bundle.updated"]
    assert pricing_client.post(reverse("admin:catalog_creditbundle_delete", args=[bundle.pk])).status_code == 403


def test_plan_credit_grant_admin__pricing_adds_changes_and_deletes__audited(
    pricing_client: Client, catalog: Catalog
) -> None:
    ai, since = CreditType.objects.get(key="ai"), last_audit_id()
    data = {
        "plan": catalog.free.pk,
        "credit_type": ai.pk,
        "quantity": "25",
        "interval": "month",
        "rollover_percent": "0",
    }
    added = pricing_client.post(reverse("admin:catalog_plancreditgrant_add"), data)
    assert added.status_code == 302, _errors(added)
    grant = PlanCreditGrant.objects.get(plan=catalog.free)
    url = reverse("admin:catalog_plancreditgrant_change", args=[grant.pk])
    changed = pricing_client.post(url, {"quantity": "30", "interval": "month", "rollover_percent": "50"})
    assert changed.status_code == 302, _errors(changed)
    grant.refresh_from_db()
    assert (grant.quantity, grant.rollover_percent) == (30, 50)
    deleted = pricing_client.post(reverse("admin:catalog_plancreditgrant_delete", args=[grant.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not PlanCreditGrant.objects.filter(pk=grant.pk).exists()
    assert [action for action, _, _ in _actions(since)] == [
        "plan_credit_grant.created", "plan_credit_grant.updated", "plan_credit_grant.deleted"
    ]  # fmt: skip


def test_credit_catalog_admin__account_executive__read_only(account_executive_client: Client, catalog: Catalog) -> None:
    ai = CreditType.objects.get(key="ai")
    assert account_executive_client.get(reverse("admin:catalog_credittype_add")).status_code == 403
    page = account_executive_client.get(reverse("admin:catalog_credittype_change", args=[ai.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()

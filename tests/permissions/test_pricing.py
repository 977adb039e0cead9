"""Pricing edits the catalog through the admin and cannot change companies."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from catalog.models import Feature
from entitlements.models import Company, Subscription
from tests.permissions.conftest import Catalog
from tests.permissions.forms import action_form, company_form, feature_form, plan_form


def _errors(response: Any) -> str:
    return str(response.context["errors"]) if response.context and "errors" in response.context else ""


def test_pricing_feature_add__valid_form__created(pricing_client: Client, db: None) -> None:
    # Given the feature list offers the add link
    changelist = pricing_client.get(reverse("admin:catalog_feature_changelist")).content.decode()
    assert reverse("admin:catalog_feature_add") in changelist
    # When Pricing adds a feature
    response = pricing_client.post(reverse("admin:catalog_feature_add"), feature_form())
    # Then it exists
    assert response.status_code == 302, _errors(response)
    assert Feature.objects.filter(key="exports").exists()


def test_pricing_plan_change__rename_and_trial__saved(pricing_client: Client, catalog: Catalog) -> None:
    plan = catalog.add_on
    url = reverse("admin:catalog_plan_change", args=[plan.pk])
    response = pricing_client.post(url, plan_form(plan, name="Boost plus", trial_days="7"))
    assert response.status_code == 302, _errors(response)
    plan.refresh_from_db()
    assert (plan.name, plan.trial_days) == ("Boost plus", 7)


def test_pricing_make_initial__base_plan_selected__becomes_initial(pricing_client: Client, catalog: Catalog) -> None:
    # The same post that Support and account executives send by hand runs for Pricing.
    response = pricing_client.post(reverse("admin:catalog_plan_changelist"), action_form("make_initial", catalog.pro))
    assert response.status_code == 302
    catalog.pro.refresh_from_db()
    assert catalog.pro.is_initial


def test_pricing_company_change__crafted_post__forbidden_and_unchanged(
    pricing_client: Client, catalog: Catalog
) -> None:
    company = catalog.company
    before = list(Subscription.objects.filter(company=company).values_list("pk", "plan_id", "status"))
    data = company_form(company, name="Renamed", plan=catalog.pro.pk)
    response = pricing_client.post(reverse("admin:entitlements_company_change", args=[company.pk]), data)
    assert response.status_code == 403
    company.refresh_from_db()
    assert company.name == "Acme"
    assert list(Subscription.objects.filter(company=company).values_list("pk", "plan_id", "status")) == before


def test_pricing_company_add__crafted_post__forbidden_and_nothing_created(
    pricing_client: Client, catalog: Catalog
) -> None:
    response = pricing_client.post(reverse("admin:entitlements_company_add"), company_form(name="Initech"))
    assert response.status_code == 403
    assert not Company.objects.filter(name="Initech").exists()

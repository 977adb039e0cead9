"""Account executives manage companies, users and subscriptions; they read the catalog and cannot change it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Feature, Plan
from core.permissions import ACCOUNT_EXECUTIVES
from entitlements.models import Company, Subscription, SubscriptionStatus
from tests.permissions.conftest import Catalog
from tests.permissions.forms import action_form, company_form, feature_form, plan_form


def _errors(response: Any) -> str:
    return str(response.context["errors"]) if response.context and "errors" in response.context else ""


def test_account_executive_company_change__rename__saved(account_executive_client: Client, catalog: Catalog) -> None:
    company = catalog.company
    url = reverse("admin:entitlements_company_change", args=[company.pk])
    # Given the change page offers Save
    assert 'name="_save"' in account_executive_client.get(url).content.decode()
    # When an account executive renames the company
    response = account_executive_client.post(url, company_form(company, name="Acme Corporation"))
    # Then it is saved
    assert response.status_code == 302, _errors(response)
    company.refresh_from_db()
    assert company.name == "Acme Corporation"


def test_account_executive_company_change__start_trial_on_pro__subscription_follows(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company = catalog.company
    url = reverse("admin:entitlements_company_change", args=[company.pk])
    data = company_form(
        company,
        plan=catalog.pro.pk,
        subscription_status="trialing",
        trial_ends_at_0=(timezone.now() + dt.timedelta(days=30)).strftime("%Y-%m-%d"),
        trial_ends_at_1="00:00:00",
        change_reason="a month to try Pro",
    )
    response = account_executive_client.post(url, data)
    assert response.status_code == 302, _errors(response)
    live = Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).get(company=company)
    assert (live.plan_id, live.status) == (catalog.pro.pk, SubscriptionStatus.TRIALING)


def test_account_executive_company_add__valid_form__created(account_executive_client: Client, catalog: Catalog) -> None:
    response = account_executive_client.post(reverse("admin:entitlements_company_add"), company_form(name="Initech"))
    assert response.status_code == 302, _errors(response)
    assert Company.objects.filter(name="Initech").exists()


def test_account_executive_catalog_add_pages__any__forbidden(account_executive_client: Client, db: None) -> None:
    for name in ("feature", "plan", "entitlement", "price"):
        assert account_executive_client.get(reverse(f"admin:catalog_{name}_add")).status_code == 403, name


def test_account_executive_catalog_changelists__any__no_add_link_and_no_actions(
    account_executive_client: Client, catalog: Catalog
) -> None:
    for name in ("feature", "plan", "entitlement", "price"):
        response = account_executive_client.get(reverse(f"admin:catalog_{name}_changelist"))
        assert response.status_code == 200, name
        assert reverse(f"admin:catalog_{name}_add") not in response.content.decode(), name
    plans_page = account_executive_client.get(reverse("admin:catalog_plan_changelist")).content.decode()
    assert "make_initial" not in plans_page


def test_account_executive_plan_change_page__view__read_only(
    account_executive_client: Client, catalog: Catalog
) -> None:
    response = account_executive_client.get(reverse("admin:catalog_plan_change", args=[catalog.free.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Free" in page
    assert 'name="_save"' not in page and 'name="name"' not in page


def test_account_executive_feature_add__crafted_post__forbidden_and_nothing_created(
    account_executive_client: Client, db: None
) -> None:
    response = account_executive_client.post(reverse("admin:catalog_feature_add"), feature_form())
    assert response.status_code == 403
    assert not Feature.objects.filter(key="exports").exists()


def test_account_executive_feature_change__crafted_post__forbidden_and_unchanged(
    account_executive_client: Client, catalog: Catalog
) -> None:
    feature = catalog.boolean_feature
    url = reverse("admin:catalog_feature_change", args=[feature.pk])
    response = account_executive_client.post(url, feature_form(feature, name="Hacked", forced_value="true"))
    assert response.status_code == 403
    feature.refresh_from_db()
    assert (feature.name, feature.forced_value) == ("SSO", None)


def test_account_executive_plan_add__crafted_post__forbidden_and_nothing_created(
    account_executive_client: Client, catalog: Catalog
) -> None:
    data = plan_form(catalog.add_on, key="enterprise", name="Enterprise", plan_type="base")
    response = account_executive_client.post(reverse("admin:catalog_plan_add"), data)
    assert response.status_code == 403
    assert not Plan.objects.filter(key="enterprise").exists()


def test_account_executive_plan_change__crafted_post__forbidden_and_unchanged(
    account_executive_client: Client, catalog: Catalog
) -> None:
    plan = catalog.add_on
    url = reverse("admin:catalog_plan_change", args=[plan.pk])
    response = account_executive_client.post(url, plan_form(plan, name="Free boost", trial_days="90"))
    assert response.status_code == 403
    plan.refresh_from_db()
    assert (plan.name, plan.trial_days) == ("Boost", 0)


def test_account_executive_make_initial__crafted_post__refused_and_unchanged(
    account_executive_client: Client, catalog: Catalog
) -> None:
    response = account_executive_client.post(
        reverse("admin:catalog_plan_changelist"), action_form("make_initial", catalog.pro)
    )
    assert response.status_code in (200, 403)
    catalog.pro.refresh_from_db()
    assert not catalog.pro.is_initial


def test_account_executive_permissions__from_group__no_catalog_change(
    account_executive_client: Client, db: None
) -> None:
    user = Group.objects.get(name=ACCOUNT_EXECUTIVES).user_set.get()
    assert user.has_perm("entitlements.change_company") and user.has_perm("catalog.view_plan")
    assert not user.has_perm("catalog.change_plan") and not user.has_perm("catalog.add_feature")


def test_account_executive__company_delete__refused_and_not_offered(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company = catalog.company
    delete_url = reverse("admin:entitlements_company_delete", args=[company.pk])
    assert account_executive_client.get(delete_url).status_code == 403
    assert account_executive_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = account_executive_client.get(reverse("admin:entitlements_company_changelist")).content.decode()
    assert "delete_selected" not in changelist
    page = account_executive_client.get(
        reverse("admin:entitlements_company_change", args=[company.pk])
    ).content.decode()
    assert delete_url not in page
    assert Company.objects.filter(pk=company.pk).exists()

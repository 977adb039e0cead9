"""Support reads every admin page and changes nothing: no save button, add pages refused, crafted posts refused."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from catalog.models import Feature, Plan
from core.permissions import PROJECT_APPS
from entitlements.models import ApiKey, Company, Subscription
from tests.permissions.conftest import Catalog
from tests.permissions.forms import action_form, company_form, feature_form, plan_form

# Pages that must have been opened, whatever else the registry holds by then.
_CORE_PAGES = {Feature, Plan, Company, Subscription, ApiKey}


def _project_admin_models() -> list[type[Model]]:
    return [model for model in admin.site._registry if model._meta.app_label in PROJECT_APPS]


def _url(model: type[Model], page: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def test_support_changelists__every_project_model__render(support_client: Client, catalog: Catalog) -> None:
    for model in _project_admin_models():
        response = support_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        assert _url(model, "add") not in response.content.decode(), f"{model} offers an add link"


def test_support_change_pages__every_project_model__render_without_save(
    support_client: Client, catalog: Catalog
) -> None:
    opened = set()
    for model in _project_admin_models():
        obj = model._default_manager.first()
        if obj is None:
            continue
        response = support_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model
        page = response.content.decode()
        assert 'name="_save"' not in page, f"{model} change page offers Save"
        assert 'name="_continue"' not in page, model
        assert _url(model, "delete", obj.pk) not in page, f"{model} change page offers Delete"
        opened.add(model)
    assert opened >= _CORE_PAGES


def test_support_add_pages__every_project_model__forbidden(support_client: Client, db: None) -> None:
    for model in _project_admin_models():
        assert support_client.get(_url(model, "add")).status_code == 403, model


def test_support_feature_change__crafted_post__forbidden_and_unchanged(
    support_client: Client, catalog: Catalog
) -> None:
    feature = catalog.boolean_feature
    # When Support posts the feature form by hand, switching the kill switch on
    response = support_client.post(_url(Feature, "change", feature.pk), feature_form(feature, forced_value="true"))
    # Then it is refused and the feature is as it was
    assert response.status_code == 403
    feature.refresh_from_db()
    assert feature.forced_value is None


def test_support_feature_add__crafted_post__forbidden_and_nothing_created(support_client: Client, db: None) -> None:
    response = support_client.post(_url(Feature, "add"), feature_form())
    assert response.status_code == 403
    assert not Feature.objects.filter(key="exports").exists()


def test_support_feature_delete__crafted_post__forbidden_and_kept(support_client: Client, catalog: Catalog) -> None:
    feature = catalog.boolean_feature
    response = support_client.post(_url(Feature, "delete", feature.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Feature.objects.filter(pk=feature.pk).exists()


def test_support_plan_change__crafted_post__forbidden_and_unchanged(support_client: Client, catalog: Catalog) -> None:
    plan = catalog.add_on
    response = support_client.post(_url(Plan, "change", plan.pk), plan_form(plan, name="Hacked", trial_days="30"))
    assert response.status_code == 403
    plan.refresh_from_db()
    assert (plan.name, plan.trial_days) == ("Boost", 0)


def test_support_company_change__crafted_post_of_plan_and_trial__forbidden_and_unchanged(
    support_client: Client, catalog: Catalog
) -> None:
    company = catalog.company
    before = list(Subscription.objects.filter(company=company).values_list("pk", "plan_id", "status", "trial_ends_at"))
    # When Support posts the company form with another name, another plan and a trial
    data = company_form(
        company,
        name="Renamed",
        plan=catalog.pro.pk,
        add_ons=[catalog.add_on.pk],
        subscription_status="trialing",
        trial_ends_at_0="2030-01-01",
        trial_ends_at_1="00:00:00",
    )
    response = support_client.post(_url(Company, "change", company.pk), data)
    # Then it is refused: neither the company nor its subscription changed
    assert response.status_code == 403
    company.refresh_from_db()
    assert company.name == "Acme"
    after = list(Subscription.objects.filter(company=company).values_list("pk", "plan_id", "status", "trial_ends_at"))
    assert after == before


def test_support_company_change_page__subscription_fields__read_only(support_client: Client, catalog: Catalog) -> None:
    response = support_client.get(_url(Company, "change", catalog.company.pk))
    assert response.status_code == 200
    page = response.content.decode()
    for field in ("name", "plan", "add_ons", "subscription_status", "trial_ends_at_0"):
        assert f'name="{field}"' not in page, f"{field} is editable"


def test_support_plan_changelist__view_only__offers_no_actions(support_client: Client, catalog: Catalog) -> None:
    page = support_client.get(_url(Plan, "changelist")).content.decode()
    assert "make_initial" not in page and "make_fallback" not in page


@pytest.mark.parametrize("action", ["make_initial", "make_fallback"])
def test_support_plan_role_action__crafted_post__refused_and_unchanged(
    support_client: Client, catalog: Catalog, action: str
) -> None:
    # When Support posts the action on the plan list by hand
    response = support_client.post(_url(Plan, "changelist"), action_form(action, catalog.pro))
    # Then the action does not run (a run redirects) and the pro plan took no role
    assert response.status_code in (200, 403)
    catalog.pro.refresh_from_db()
    assert not catalog.pro.is_initial and not catalog.pro.is_fallback


def test_support_api_key_revoke__crafted_post__refused_and_key_live(support_client: Client, catalog: Catalog) -> None:
    api_key = ApiKey.objects.get(name="backend")
    response = support_client.post(_url(ApiKey, "changelist"), action_form("revoke", api_key))
    assert response.status_code in (200, 403)
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_superuser_api_key_revoke__action_posted__key_revoked(admin_client: Client, catalog: Catalog) -> None:
    # The same post by someone allowed to change keys does revoke: the crafted posts above are real requests.
    api_key = ApiKey.objects.get(name="backend")
    response = admin_client.post(_url(ApiKey, "changelist"), action_form("revoke", api_key))
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None

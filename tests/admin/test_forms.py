"""Creating and changing catalog and company rows through the admin forms, as a staff member would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.test import Client
from django.urls import reverse

from catalog.models import Entitlement, Feature, Plan, Price
from entitlements.models import Company, CompanyKey, CompanyTrait, Subscription, SubscriptionStatus
from tests.admin.conftest import Catalog


def _inline(prefix: str, rows: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    """POST data of an inline formset: its management form and one entry per row."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def _company_form(
    name: str, *, keys: Sequence[dict[str, Any]] = (), traits: Sequence[dict[str, Any]] = (), **plan_fields: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "plan": "",
        "subscription_status": "active",
        "trial_ends_at_0": "",
        "trial_ends_at_1": "",
        **plan_fields,
        **_inline("keys", list(keys)),
        **_inline("traits", list(traits)),
    }


def _errors(response: Any) -> str:
    return str(response.context["errors"]) if response.context and "errors" in response.context else ""


def test_feature_add__valid_form__creates_feature(admin_client: Client, db: None) -> None:
    # When a staff member fills the feature form
    response = admin_client.post(
        reverse("admin:catalog_feature_add"),
        {
            "key": "exports",
            "name": "Exports",
            "feature_type": "event",
            "event_name": "export",
            "description": "",
            "trait_key": "",
            "unit_singular": "export",
            "unit_plural": "exports",
        },
    )
    # Then the feature exists and the admin redirects to the list
    assert response.status_code == 302, _errors(response)
    feature = Feature.objects.get(key="exports")
    assert feature.public_id.startswith("feat_") and feature.event_name == "export"


def test_feature_add__invalid_key_and_missing_event__shows_errors_and_writes_nothing(
    admin_client: Client, db: None
) -> None:
    response = admin_client.post(
        reverse("admin:catalog_feature_add"),
        {
            "key": "Bad Key!",
            "name": "Bad",
            "feature_type": "event",
            "event_name": "",
            "description": "",
            "trait_key": "",
            "unit_singular": "",
            "unit_plural": "",
        },
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "key" in form.errors
    assert "Event features need an event name" in str(form.non_field_errors())
    assert Feature.objects.count() == 0


def test_feature_add__duplicate_key_other_case__refused(admin_client: Client, catalog: Catalog) -> None:
    response = admin_client.post(
        reverse("admin:catalog_feature_add"),
        {
            "key": "SSO",
            "name": "Dup",
            "feature_type": "boolean",
            "event_name": "",
            "description": "",
            "trait_key": "",
            "unit_singular": "",
            "unit_plural": "",
        },
    )
    assert response.status_code == 200
    assert "A feature with this key exists." in str(response.context["adminform"].form.errors)
    assert Feature.objects.filter(key="sso").count() == 1


def _plan_form(key: str, entitlements: list[dict[str, Any]], prices: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.title(),
        "description": "",
        "plan_type": "base",
        "is_active": "on",
        "trial_days": "0",
        **_inline("entitlements", entitlements),
        **_inline("prices", list(prices)),
    }


def _entitlement_row(feature: Feature, **values: Any) -> dict[str, Any]:
    row = {
        "feature": feature.pk,
        "value_type": "boolean",
        "allocation": "",
        "metric_period": "",
        "month_reset": "",
        "trait_key": "",
        "soft_limit": "",
    }
    row.update(values)
    return row


def test_plan_add__with_entitlements_and_price__creates_all(admin_client: Client, catalog: Catalog) -> None:
    # When a plan is created with two entitlements and a price in one form
    response = admin_client.post(
        reverse("admin:catalog_plan_add"),
        _plan_form(
            "team",
            [
                _entitlement_row(catalog.boolean_feature),
                _entitlement_row(
                    catalog.event_feature,
                    value_type="numeric",
                    allocation="500",
                    metric_period="current_month",
                ),
            ],
            [{"interval": "month", "currency": "usd", "amount_minor": "4900"}],
        ),
    )
    # Then the plan, both entitlements (the monthly one resetting on the 1st) and the price exist
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get(key="team")
    metered = Entitlement.objects.get(plan=plan, feature=catalog.event_feature)
    assert (metered.allocation, metered.month_reset) == (500, "first_of_month")
    assert Entitlement.objects.filter(plan=plan).count() == 2
    assert Price.objects.get(plan=plan).amount_minor == 4900


def test_plan_add__numeric_entitlement_without_allocation__shows_error_and_writes_nothing(
    admin_client: Client, catalog: Catalog
) -> None:
    response = admin_client.post(
        reverse("admin:catalog_plan_add"),
        _plan_form(
            "team",
            [_entitlement_row(catalog.event_feature, value_type="numeric", metric_period="current_month")],
        ),
    )
    assert response.status_code == 200
    inline_errors = str(response.context["inline_admin_formsets"][0].formset.errors)
    assert "A numeric entitlement needs an allocation." in inline_errors
    assert not Plan.objects.filter(key="team").exists()


def test_plan_add__numeric_entitlement_on_boolean_feature__refused(admin_client: Client, catalog: Catalog) -> None:
    response = admin_client.post(
        reverse("admin:catalog_plan_add"),
        _plan_form("team", [_entitlement_row(catalog.boolean_feature, value_type="numeric", allocation="3")]),
    )
    assert response.status_code == 200
    assert "A boolean feature only takes a 'boolean' entitlement" in str(
        response.context["inline_admin_formsets"][0].formset.errors
    )
    assert not Plan.objects.filter(key="team").exists()


def test_company_add__with_keys_and_traits__lands_on_initial_plan(admin_client: Client, catalog: Catalog) -> None:
    seats = CompanyTrait.objects.get(company=catalog.company).definition
    response = admin_client.post(
        reverse("admin:entitlements_company_add"),
        _company_form(
            "Globex",
            keys=[
                {"name": "external_id", "value": "globex"},
                {"name": "stripe_customer_id", "value": "cus_1"},
            ],
            traits=[{"definition": seats.pk, "value": "12"}],
        ),
    )
    assert response.status_code == 302, _errors(response)
    company = Company.objects.get(name="Globex")
    assert {k.name: k.value for k in company.keys.all()} == {
        "external_id": "globex",
        "stripe_customer_id": "cus_1",
    }
    assert CompanyTrait.objects.get(company=company).value == "12"
    live = Subscription.objects.get(company=company)
    assert live.plan == catalog.free and live.status == SubscriptionStatus.ACTIVE


def test_company_add__duplicate_key__shows_error_and_writes_nothing(admin_client: Client, catalog: Catalog) -> None:
    response = admin_client.post(
        reverse("admin:entitlements_company_add"),
        _company_form("Impostor", keys=[{"name": "EXTERNAL_ID", "value": "ACME"}]),
    )
    assert response.status_code == 200
    assert "Another company already has this key." in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert not Company.objects.filter(name="Impostor").exists()
    assert CompanyKey.objects.count() == 1


def test_company_add__trait_value_of_wrong_type__refused(admin_client: Client, catalog: Catalog) -> None:
    seats = CompanyTrait.objects.get(company=catalog.company).definition
    response = admin_client.post(
        reverse("admin:entitlements_company_add"),
        _company_form("Initech", traits=[{"definition": seats.pk, "value": "many"}]),
    )
    assert response.status_code == 200
    assert "must be an integer" in str(response.context["inline_admin_formsets"][1].formset.errors)
    assert not Company.objects.filter(name="Initech").exists()


def _company_change(catalog: Catalog, **plan_fields: Any) -> dict[str, Any]:
    company = catalog.company
    key = company.keys.get()
    trait = company.traits.get()
    data = {
        "name": company.name,
        "plan": catalog.free.pk,
        "subscription_status": "active",
        "trial_ends_at_0": "",
        "trial_ends_at_1": "",
        **_inline("keys", [{"id": key.pk, "company": company.pk, "name": key.name, "value": key.value}], initial=1),
        **_inline(
            "traits",
            [
                {
                    "id": trait.pk,
                    "company": company.pk,
                    "definition": trait.definition_id,
                    "value": trait.value,
                }
            ],
            initial=1,
        ),
    }
    data.update(plan_fields)
    return data


def test_company_change__put_on_pro_with_add_on__subscription_follows(admin_client: Client, catalog: Catalog) -> None:
    url = reverse("admin:entitlements_company_change", args=[catalog.company.pk])
    change = _company_change(catalog, plan=catalog.pro.pk, add_ons=[catalog.add_on.pk])
    response = admin_client.post(url, change)
    assert response.status_code == 200  # first: what changes, and a reason asked for
    assert Subscription.objects.exclude(status="canceled").get(company=catalog.company).plan == catalog.free
    response = admin_client.post(url, {**change, "change_reason": "upgraded on the call"})
    assert response.status_code == 302, _errors(response)
    live = Subscription.objects.exclude(status="canceled").get(company=catalog.company)
    assert live.plan == catalog.pro
    assert list(live.add_ons.all()) == [catalog.add_on]


def test_company_change__trialing_without_end_on_plan_without_trial__refused(
    admin_client: Client, catalog: Catalog
) -> None:
    url = reverse("admin:entitlements_company_change", args=[catalog.company.pk])
    response = admin_client.post(url, _company_change(catalog, subscription_status="trialing"))
    assert response.status_code == 200
    assert "trial_ends_at" in response.context["adminform"].form.errors
    assert Subscription.objects.get(company=catalog.company).status == SubscriptionStatus.ACTIVE


def test_company_change__remove_key_and_add_another__merge_applied(admin_client: Client, catalog: Catalog) -> None:
    url = reverse("admin:entitlements_company_change", args=[catalog.company.pk])
    data = _company_change(catalog)
    data["keys-0-DELETE"] = "on"
    data["keys-TOTAL_FORMS"] = "2"
    data.update({"keys-1-name": "slug", "keys-1-value": "acme-inc"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)
    assert {k.name: k.value for k in catalog.company.keys.all()} == {"slug": "acme-inc"}


def test_api_key_add__secret_shown_once__hash_stored(admin_client: Client, db: None) -> None:
    response = admin_client.post(reverse("admin:entitlements_apikey_add"), {"name": "ci"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    secret = next(m.rsplit(" ", 1)[-1] for m in shown if "will not be shown again" in m)
    from entitlements.models import ApiKey
    from entitlements.services.api_keys import api_key_secret_hash

    key = ApiKey.objects.get(name="ci")
    assert key.secret_hash == api_key_secret_hash(secret) and secret not in key.secret_hash

"""Management API: a plan's entitlements (``/api/v1/plans/{plan}/entitlements``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Entitlement
from tests.api.support import API, feature_make, ok, plan_make, refused, send_json

ENTITLEMENTS = f"{API}/plans/pro/entitlements"


@pytest.fixture
def catalog(api: APIClient) -> dict[str, dict[str, Any]]:
    """A plan ``pro`` and one feature of each type: ``sso`` (boolean), ``calls`` (event), ``seats`` (trait)."""
    return {
        "pro": plan_make(api, "pro"),
        "sso": feature_make(api, "sso"),
        "calls": feature_make(api, "calls", feature_type="event", event_name="api.call"),
        "seats": feature_make(api, "seats", feature_type="trait", trait_key="seats_used"),
    }


def test_entitlement__full_lifecycle__create_read_update_delete(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    # Given a numeric daily limit on an event feature
    created = ok(
        api.post(
            ENTITLEMENTS,
            {"feature": "calls", "value_type": "numeric", "allocation": 100, "metric_period": "current_day"},
        ),
        201,
    )
    assert created["id"].startswith("ent_")
    assert (created["plan"], created["feature"], created["feature_id"]) == ("pro", "calls", catalog["calls"]["id"])
    assert (created["allocation"], created["metric_period"], created["month_reset"]) == (100, "current_day", None)

    # When read through the feature key, the feature id, and the plan id, Then all give the same entitlement
    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == created
    assert ok(api.get(f"{ENTITLEMENTS}/{catalog['calls']['id']}")) == created
    assert ok(api.get(f"{API}/plans/{catalog['pro']['id']}/entitlements/calls")) == created

    # When the allocation and soft limit change, Then they are stored
    patched = ok(api.patch(f"{ENTITLEMENTS}/calls", {"allocation": 250, "soft_limit": 200}))
    assert (patched["allocation"], patched["soft_limit"]) == (250, 200)
    assert ok(api.get(f"{ENTITLEMENTS}/calls"))["allocation"] == 250

    # When removed, Then it is gone and the feature stays
    assert api.delete(f"{ENTITLEMENTS}/calls").status_code == 204
    refused(api.get(f"{ENTITLEMENTS}/calls"), 404)
    assert not Entitlement.objects.exists()
    assert ok(api.get(f"{API}/features/calls"))["key"] == "calls"


def test_entitlement_get__keys_in_other_case__found(api: APIClient, catalog: dict[str, dict[str, Any]]) -> None:
    ok(api.post(ENTITLEMENTS, {"feature": "SSO", "value_type": "boolean"}), 201)

    assert ok(api.get(f"{API}/plans/PRO/entitlements/Sso"))["feature"] == "sso"


def test_entitlement_list__more_than_a_page__paginated_by_feature_key(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    ok(api.post(ENTITLEMENTS, {"feature": "sso", "value_type": "boolean"}), 201)
    ok(api.post(ENTITLEMENTS, {"feature": "seats", "value_type": "unlimited"}), 201)
    ok(api.post(ENTITLEMENTS, {"feature": "calls", "value_type": "unlimited"}), 201)

    first = ok(api.get(ENTITLEMENTS, {"page_size": 2}))

    assert first["count"] == 3
    assert first["next"]
    assert [item["feature"] for item in first["results"]] == ["calls", "seats"]
    assert [item["feature"] for item in ok(api.get(first["next"]))["results"]] == ["sso"]


def test_entitlement_list__other_plans_entitlements__not_listed(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    plan_make(api, "basic")
    ok(api.post(f"{API}/plans/basic/entitlements", {"feature": "sso", "value_type": "boolean"}), 201)

    assert ok(api.get(ENTITLEMENTS))["count"] == 0
    refused(api.get(f"{ENTITLEMENTS}/sso"), 404)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"feature": "sso", "value_type": "boolean"}, {"allocation": None, "metric_period": None}),
        (
            {"feature": "calls", "value_type": "numeric", "allocation": 5, "metric_period": "current_month"},
            {"metric_period": "current_month", "month_reset": "first_of_month"},
        ),
        (
            {
                "feature": "calls",
                "value_type": "numeric",
                "allocation": 5,
                "metric_period": "current_month",
                "month_reset": "billing_cycle",
            },
            {"month_reset": "billing_cycle"},
        ),
        (
            {"feature": "calls", "value_type": "numeric", "allocation": 0, "metric_period": "all_time"},
            {"allocation": 0, "month_reset": None},
        ),
        ({"feature": "calls", "value_type": "unlimited"}, {"allocation": None, "metric_period": None}),
        ({"feature": "seats", "value_type": "numeric", "allocation": 10}, {"allocation": 10, "metric_period": None}),
        ({"feature": "seats", "value_type": "trait", "trait_key": "seat_limit"}, {"trait_key": "seat_limit"}),
        (
            {"feature": "calls", "value_type": "trait", "trait_key": "call_limit", "metric_period": "current_week"},
            {"trait_key": "call_limit", "metric_period": "current_week"},
        ),
    ],
)
def test_entitlement_create__valid_shape__201_with_normalised_fields(
    api: APIClient, catalog: dict[str, dict[str, Any]], body: dict[str, Any], expected: dict[str, Any]
) -> None:
    created = ok(api.post(ENTITLEMENTS, body), 201)

    assert {name: created[name] for name in expected} == expected
    assert ok(api.get(f"{ENTITLEMENTS}/{body['feature']}")) == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value_type": "boolean"}, "feature"),
        ({"feature": "sso"}, "value_type"),
        ({"feature": "nope", "value_type": "boolean"}, "feature"),
        ({"feature": 5, "value_type": "boolean"}, "feature"),
        ({"feature": "sso", "value_type": "gauge"}, "value_type"),
        ({"feature": "sso", "value_type": "boolean", "colour": "red"}, "colour"),
        ({"feature": "sso", "value_type": "numeric", "allocation": 1}, "value_type"),
        ({"feature": "sso", "value_type": "unlimited"}, "value_type"),
        ({"feature": "calls", "value_type": "boolean"}, "value_type"),
        ({"feature": "calls", "value_type": "numeric", "metric_period": "current_day"}, "allocation"),
        ({"feature": "calls", "value_type": "numeric", "allocation": None, "metric_period": "all_time"}, "allocation"),
        ({"feature": "calls", "value_type": "numeric", "allocation": "10", "metric_period": "all_time"}, "allocation"),
        ({"feature": "calls", "value_type": "numeric", "allocation": True, "metric_period": "all_time"}, "allocation"),
        ({"feature": "calls", "value_type": "numeric", "allocation": -1, "metric_period": "all_time"}, "allocation"),
        ({"feature": "calls", "value_type": "numeric", "allocation": 2.5, "metric_period": "all_time"}, "allocation"),
        (
            {"feature": "calls", "value_type": "numeric", "allocation": 10**30, "metric_period": "all_time"},
            "allocation",
        ),
        ({"feature": "calls", "value_type": "numeric", "allocation": 10}, "metric_period"),
        ({"feature": "calls", "value_type": "numeric", "allocation": 1, "metric_period": "hourly"}, "metric_period"),
        ({"feature": "calls", "value_type": "unlimited", "allocation": 10}, "allocation"),
        ({"feature": "calls", "value_type": "unlimited", "soft_limit": 10}, "soft_limit"),
        ({"feature": "calls", "value_type": "unlimited", "trait_key": "t"}, "trait_key"),
        (
            {
                "feature": "calls",
                "value_type": "numeric",
                "allocation": 1,
                "metric_period": "current_day",
                "month_reset": "first_of_month",
            },
            "month_reset",
        ),
        (
            {
                "feature": "calls",
                "value_type": "numeric",
                "allocation": 1,
                "metric_period": "current_month",
                "month_reset": "quarterly",
            },
            "month_reset",
        ),
        ({"feature": "seats", "value_type": "trait"}, "trait_key"),
        ({"feature": "seats", "value_type": "trait", "trait_key": ""}, "trait_key"),
        (
            {"feature": "seats", "value_type": "numeric", "allocation": 3, "metric_period": "current_day"},
            "metric_period",
        ),
        ({"feature": "sso", "value_type": "boolean", "metric_period": "current_day"}, "metric_period"),
    ],
)
def test_entitlement_create__bad_input__400_naming_the_field_and_nothing_written(
    api: APIClient, catalog: dict[str, dict[str, Any]], body: dict[str, Any], field: str
) -> None:
    refused(api.post(ENTITLEMENTS, body), 400, field)

    assert not Entitlement.objects.exists()


@pytest.mark.parametrize("body", [[{"feature": "sso", "value_type": "boolean"}], "sso", None])
def test_entitlement_create__body_not_an_object__400_and_nothing_written(
    api: APIClient, catalog: dict[str, dict[str, Any]], body: Any
) -> None:
    refused(send_json(api, "POST", ENTITLEMENTS, body), 400)

    assert not Entitlement.objects.exists()


@pytest.mark.parametrize("feature", ["sso", "SSO", "feature-id"])
def test_entitlement_create__plan_already_has_feature__400_on_feature(
    api: APIClient, catalog: dict[str, dict[str, Any]], feature: str
) -> None:
    # Given the plan has an entitlement for sso
    first = ok(api.post(ENTITLEMENTS, {"feature": "sso", "value_type": "boolean"}), 201)

    # When another is added for the same feature, named by key in any case or by id
    named = catalog["sso"]["id"] if feature == "feature-id" else feature
    refused(api.post(ENTITLEMENTS, {"feature": named, "value_type": "boolean"}), 400, "feature")

    # Then only the first exists
    assert list(Entitlement.objects.values_list("public_id", flat=True)) == [first["id"]]


def test_entitlement_create__unknown_plan__404_and_nothing_written(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    refused(api.post(f"{API}/plans/nope/entitlements", {"feature": "sso", "value_type": "boolean"}), 404)

    assert not Entitlement.objects.exists()


def test_entitlement_create__same_feature_on_two_plans__both_allowed(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    plan_make(api, "basic")

    ok(api.post(ENTITLEMENTS, {"feature": "sso", "value_type": "boolean"}), 201)
    ok(api.post(f"{API}/plans/basic/entitlements", {"feature": "sso", "value_type": "boolean"}), 201)

    assert Entitlement.objects.count() == 2


# --- PATCH --------------------------------------------------------------------------------------------------------


@pytest.fixture
def monthly_calls(api: APIClient, catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``pro`` allows 100 calls a month, resetting on the 1st."""
    return ok(
        api.post(
            ENTITLEMENTS,
            {"feature": "calls", "value_type": "numeric", "allocation": 100, "metric_period": "current_month"},
        ),
        201,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"allocation": "10"}, "allocation"),
        ({"allocation": None}, "allocation"),
        ({"value_type": "unlimited"}, "allocation"),
        ({"value_type": "boolean", "allocation": None}, "value_type"),
        ({"metric_period": "current_day"}, "month_reset"),
        ({"metric_period": None}, "metric_period"),
        ({"month_reset": "yearly"}, "month_reset"),
        ({"value_type": "trait", "allocation": None}, "trait_key"),
        ({"feature": "sso"}, "feature"),
        ({"plan": "basic"}, "plan"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_entitlement_update__bad_input__400_naming_the_field_and_unchanged(
    api: APIClient, monthly_calls: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    refused(api.patch(f"{ENTITLEMENTS}/calls", body), 400, field)

    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == monthly_calls


@pytest.mark.parametrize("body", [[], [{"allocation": 1}], 7, None])
def test_entitlement_update__body_not_an_object__400_and_unchanged(
    api: APIClient, monthly_calls: dict[str, Any], body: Any
) -> None:
    refused(send_json(api, "PATCH", f"{ENTITLEMENTS}/calls", body), 400)

    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == monthly_calls


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"allocation": 100, "month_reset": "first_of_month"}),
        (
            {"value_type": "unlimited", "allocation": None, "metric_period": None, "month_reset": None},
            {"allocation": None},
        ),
        ({"metric_period": "current_day", "month_reset": None}, {"metric_period": "current_day", "month_reset": None}),
        ({"month_reset": "billing_cycle"}, {"month_reset": "billing_cycle"}),
        ({"soft_limit": 80}, {"soft_limit": 80}),
    ],
)
def test_entitlement_update__valid_change__200_and_stored(
    api: APIClient, monthly_calls: dict[str, Any], body: dict[str, Any], expected: dict[str, Any]
) -> None:
    patched = ok(api.patch(f"{ENTITLEMENTS}/calls", body))

    assert {name: patched[name] for name in expected} == expected
    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == patched


def test_entitlement_update__period_becomes_monthly__month_reset_defaults_to_first_of_month(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    ok(
        api.post(
            ENTITLEMENTS,
            {"feature": "calls", "value_type": "numeric", "allocation": 1, "metric_period": "current_week"},
        ),
        201,
    )

    patched = ok(api.patch(f"{ENTITLEMENTS}/calls", {"metric_period": "current_month"}))

    assert patched["month_reset"] == "first_of_month"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("path", [f"{ENTITLEMENTS}/sso", f"{ENTITLEMENTS}/nope", f"{API}/plans/nope/entitlements/sso"])
def test_entitlement_detail__missing_entitlement_feature_or_plan__404_json(
    api: APIClient, catalog: dict[str, dict[str, Any]], method: str, path: str
) -> None:
    refused(getattr(api, method)(path), 404)


@pytest.mark.parametrize("feature", ["%00", "%20", "%E2%9C%93", "x" * 300])
def test_entitlement_detail__odd_feature_identifier__404_not_500(
    api: APIClient, catalog: dict[str, dict[str, Any]], feature: str
) -> None:
    refused(api.get(f"{ENTITLEMENTS}/{feature}"), 404)

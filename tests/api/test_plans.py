"""Management API: plans and add-ons (``/api/v1/plans``), including the initial and fallback plan rules."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Entitlement, Plan, Price
from tests.api.support import API, company_make, feature_make, ok, plan_make, refused, send_json

PLANS = f"{API}/plans"


def _initial_keys() -> list[str]:
    return list(Plan.objects.filter(is_initial=True).values_list("key", flat=True))


def test_plan__full_lifecycle__create_read_update_delete(api: APIClient) -> None:
    # Given a new add-on
    created = plan_make(api, "extra-seats", plan_type="add_on", description="More seats")
    assert created["id"].startswith("plan_")
    assert created["plan_type"] == "add_on"
    assert created["is_active"] is True
    assert created["trial_days"] == 0

    # When read by key and by public id, Then both give the same plan
    assert ok(api.get(f"{PLANS}/extra-seats")) == created
    assert ok(api.get(f"{PLANS}/{created['id']}")) == created

    # When changed, Then the change is returned and stored
    patched = ok(api.patch(f"{PLANS}/{created['id']}", {"name": "Extra seats", "trial_days": 14}))
    assert (patched["name"], patched["trial_days"]) == ("Extra seats", 14)
    assert ok(api.get(f"{PLANS}/extra-seats"))["trial_days"] == 14

    # When deleted, Then it is gone by key and by id
    assert api.delete(f"{PLANS}/extra-seats").status_code == 204
    refused(api.get(f"{PLANS}/extra-seats"), 404)
    refused(api.get(f"{PLANS}/{created['id']}"), 404)
    assert not Plan.objects.exists()


def test_plan_get__key_in_other_case__found(api: APIClient) -> None:
    created = plan_make(api, "pro")

    assert ok(api.get(f"{PLANS}/PRO"))["id"] == created["id"]


def test_plan_list__more_than_a_page__paginated(api: APIClient) -> None:
    for key in ("gamma", "alpha", "beta"):
        plan_make(api, key)

    first = ok(api.get(PLANS, {"page_size": 2}))

    assert first["count"] == 3
    assert first["next"]
    assert [item["key"] for item in first["results"]] == ["alpha", "beta"]
    assert ok(api.get(first["next"]))["results"][0]["key"] == "gamma"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No key"}, "key"),
        ({"key": "no-name"}, "name"),
        ({"key": "p", "name": 123}, "name"),
        ({"key": "p", "name": "P", "is_active": "yes"}, "is_active"),
        ({"key": "p", "name": "P", "is_active": 1}, "is_active"),
        ({"key": "p", "name": "P", "trial_days": True}, "trial_days"),
        ({"key": "p", "name": "P", "trial_days": "7"}, "trial_days"),
        ({"key": "p", "name": "P", "trial_days": 1.5}, "trial_days"),
        ({"key": "p", "name": "P", "trial_days": -1}, "trial_days"),
        ({"key": "p", "name": "P", "is_initial": "true"}, "is_initial"),
        ({"key": "p", "name": "P", "plan_type": "enterprise"}, "plan_type"),
        ({"key": "p", "name": "P", "price": 10}, "price"),
        ({"key": "Bad Key!", "name": "Bad"}, "key"),
    ],
)
def test_plan_create__bad_field__400_naming_it_and_nothing_written(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    refused(api.post(PLANS, body), 400, field)

    assert not Plan.objects.exists()


@pytest.mark.parametrize("body", [[{"key": "p", "name": "P"}], "p", None])
def test_plan_create__body_not_an_object__400_and_nothing_written(api: APIClient, body: Any) -> None:
    refused(send_json(api, "POST", PLANS, body), 400)

    assert not Plan.objects.exists()


@pytest.mark.parametrize("key", ["pro", "PRO", "Pro", " pro"])
def test_plan_create__key_taken_in_any_case__400_on_key_and_nothing_written(api: APIClient, key: str) -> None:
    plan_make(api, "pro")

    refused(api.post(PLANS, {"key": key, "name": "Again"}), 400, "key")

    assert list(Plan.objects.values_list("key", flat=True)) == ["pro"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 123}, "name"),
        ({"is_active": "no"}, "is_active"),
        ({"trial_days": "14"}, "trial_days"),
        ({"key": "basic"}, "key"),
        ({"id": "plan_x"}, "id"),
    ],
)
def test_plan_update__bad_field__400_naming_it_and_plan_unchanged(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    plan_make(api, "basic")
    before = plan_make(api, "pro")

    refused(api.patch(f"{PLANS}/pro", body), 400, field)

    assert ok(api.get(f"{PLANS}/pro")) == before


def test_plan_update__empty_body__200_and_unchanged(api: APIClient) -> None:
    before = plan_make(api, "pro")

    after = ok(api.patch(f"{PLANS}/pro", {}))

    assert after["key"] == before["key"]
    assert after["is_initial"] is True


# --- The initial plan ------------------------------------------------------------------------------------------


def test_plan_create__first_active_base_plan__becomes_initial(api: APIClient) -> None:
    # Given only an add-on and an inactive base plan, neither is initial
    assert plan_make(api, "boost", plan_type="add_on")["is_initial"] is False
    assert plan_make(api, "legacy", is_active=False)["is_initial"] is False

    # When the first active base plan is created, Then it becomes initial
    assert plan_make(api, "free")["is_initial"] is True
    # And later base plans do not
    assert plan_make(api, "pro")["is_initial"] is False
    assert _initial_keys() == ["free"]


def test_plan_create__is_initial_on_new_plan__marker_moves(api: APIClient) -> None:
    plan_make(api, "free")

    created = plan_make(api, "starter", is_initial=True)

    assert created["is_initial"] is True
    assert ok(api.get(f"{PLANS}/free"))["is_initial"] is False
    assert _initial_keys() == ["starter"]


def test_plan_update__is_initial_on_another_plan__marker_moves(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")

    assert ok(api.patch(f"{PLANS}/pro", {"is_initial": True}))["is_initial"] is True

    assert ok(api.get(f"{PLANS}/free"))["is_initial"] is False
    assert _initial_keys() == ["pro"]


def test_plan_update__unset_is_initial_on_initial_plan__400_and_still_initial(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")

    refused(api.patch(f"{PLANS}/free", {"is_initial": False}), 400, "is_initial")

    assert _initial_keys() == ["free"]


def test_plan_update__deactivate_initial_plan__400_and_still_active(api: APIClient) -> None:
    plan_make(api, "free")

    refused(api.patch(f"{PLANS}/free", {"is_active": False}), 400)

    assert ok(api.get(f"{PLANS}/free"))["is_active"] is True
    assert _initial_keys() == ["free"]


@pytest.mark.parametrize(
    "body",
    [
        {"key": "boost", "name": "Boost", "plan_type": "add_on", "is_initial": True},
        {"key": "boost", "name": "Boost", "plan_type": "add_on", "is_fallback": True},
        {"key": "old", "name": "Old", "is_active": False, "is_initial": True},
        {"key": "old", "name": "Old", "is_active": False, "is_fallback": True},
    ],
)
def test_plan_create__marker_on_add_on_or_inactive_plan__400_and_markers_kept(
    api: APIClient, body: dict[str, Any]
) -> None:
    # Given an initial plan that is also the fallback
    plan_make(api, "free", is_fallback=True)

    # When a plan that cannot hold a marker claims one
    refused(api.post(PLANS, body), 400)

    # Then nothing is written and the markers stay
    assert list(Plan.objects.values_list("key", "is_initial", "is_fallback")) == [("free", True, True)]


def test_plan_update__is_initial_on_inactive_plan__400_and_marker_stays(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "legacy", is_active=False)

    refused(api.patch(f"{PLANS}/legacy", {"is_initial": True}), 400)

    assert _initial_keys() == ["free"]


def test_plan_update__activate_and_mark_initial_together__marker_moves(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "legacy", is_active=False)

    assert ok(api.patch(f"{PLANS}/legacy", {"is_active": True, "is_initial": True}))["is_initial"] is True

    assert _initial_keys() == ["legacy"]


def test_plan_update__change_initial_plan_to_add_on__400_and_unchanged(api: APIClient) -> None:
    plan_make(api, "free")

    refused(api.patch(f"{PLANS}/free", {"plan_type": "add_on"}), 400)

    assert ok(api.get(f"{PLANS}/free"))["plan_type"] == "base"


def test_plan_delete__initial_plan_with_other_base_plans__409_and_nothing_deleted(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")

    refused(api.delete(f"{PLANS}/free"), 409)

    assert sorted(Plan.objects.values_list("key", flat=True)) == ["free", "pro"]
    assert _initial_keys() == ["free"]


def test_plan_delete__initial_plan_after_marker_moved__204(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")
    ok(api.patch(f"{PLANS}/pro", {"is_initial": True}))

    assert api.delete(f"{PLANS}/free").status_code == 204

    assert _initial_keys() == ["pro"]


def test_plan_delete__only_base_plan__204_and_next_base_plan_becomes_initial(api: APIClient) -> None:
    plan_make(api, "free")
    assert api.delete(f"{PLANS}/free").status_code == 204

    assert plan_make(api, "pro")["is_initial"] is True


# --- The fallback plan -----------------------------------------------------------------------------------------


def test_plan_fallback__set_on_another_plan__marker_moves(api: APIClient) -> None:
    plan_make(api, "free", is_fallback=True)
    plan_make(api, "pro")

    assert ok(api.patch(f"{PLANS}/pro", {"is_fallback": True}))["is_fallback"] is True

    assert ok(api.get(f"{PLANS}/free"))["is_fallback"] is False
    assert list(Plan.objects.filter(is_fallback=True).values_list("key", flat=True)) == ["pro"]


def test_plan_fallback__unset__no_fallback_plan(api: APIClient) -> None:
    plan_make(api, "free", is_fallback=True)

    assert ok(api.patch(f"{PLANS}/free", {"is_fallback": False}))["is_fallback"] is False

    assert not Plan.objects.filter(is_fallback=True).exists()


# --- Deleting plans in use ---------------------------------------------------------------------------------------


def test_plan_delete__company_subscribes__409_and_nothing_deleted(api: APIClient) -> None:
    # Given a company on the only base plan
    plan_make(api, "free")
    company = company_make(api)
    assert company["subscription"]["plan"] == "free"

    # When that plan is deleted
    body = refused(api.delete(f"{PLANS}/free"), 409)

    # Then it is refused and the plan and subscription stay
    assert body["code"]
    assert ok(api.get(f"{PLANS}/free"))["key"] == "free"
    assert ok(api.get(f"{API}/companies/{company['id']}/subscription"))["plan"] == "free"


def test_plan_delete__add_on_held_by_a_subscription__409_and_nothing_deleted(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "boost", plan_type="add_on")
    company = company_make(api)
    ok(api.put(f"{API}/companies/{company['id']}/subscription", {"plan": "free", "add_ons": ["boost"]}))

    refused(api.delete(f"{PLANS}/boost"), 409)

    assert ok(api.get(f"{API}/companies/{company['id']}/subscription"))["add_ons"] == ["boost"]


def test_plan_delete__unused_plan__its_entitlements_and_prices_go_too(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")
    feature_make(api, "sso")
    ok(api.post(f"{PLANS}/pro/entitlements", {"feature": "sso", "value_type": "boolean"}), 201)
    ok(api.post(f"{PLANS}/pro/prices", {"interval": "month", "currency": "usd", "amount_minor": 1000}), 201)

    assert api.delete(f"{PLANS}/pro").status_code == 204

    assert not Entitlement.objects.exists()
    assert not Price.objects.exists()
    assert ok(api.get(f"{API}/features/sso"))["key"] == "sso"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_plan_detail__unknown_identifier__404_json(api: APIClient, method: str) -> None:
    refused(getattr(api, method)(f"{PLANS}/nope"), 404)


@pytest.mark.parametrize("identifier", ["%00", "a%00b", "%20", "%E2%9C%93", "plan_", "x" * 300])
def test_plan_detail__odd_identifier__404_not_500(api: APIClient, identifier: str) -> None:
    plan_make(api, "pro")

    refused(api.get(f"{PLANS}/{identifier}"), 404)
    refused(api.get(f"{PLANS}/{identifier}/entitlements"), 404)
    refused(api.get(f"{PLANS}/{identifier}/prices"), 404)

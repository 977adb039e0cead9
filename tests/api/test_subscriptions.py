"""Management API: a company's subscription (``/api/v1/companies/{id}/subscription``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from entitlements.models import Subscription, SubscriptionAddOn
from tests.api.support import API, company_make, ok, plan_make, refused, send_json


@pytest.fixture
def catalog(api: APIClient) -> None:
    """Base plans ``free`` (initial), ``pro``, ``trial`` (14 trial days), inactive ``legacy``; add-ons ``boost`` and
    ``seats-pack``, inactive add-on ``old-boost``."""
    plan_make(api, "free")
    plan_make(api, "pro")
    plan_make(api, "trial", trial_days=14)
    plan_make(api, "legacy", is_active=False)
    plan_make(api, "boost", plan_type="add_on")
    plan_make(api, "seats-pack", plan_type="add_on")
    plan_make(api, "old-boost", plan_type="add_on", is_active=False)


@pytest.fixture
def company(api: APIClient, catalog: None) -> dict[str, Any]:
    """A company on the initial plan ``free``."""
    return company_make(api)


def _url(company: dict[str, Any]) -> str:
    return f"{API}/companies/{company['id']}/subscription"


def test_subscription_put__plan_and_add_ons__replaces_the_live_subscription(
    api: APIClient, company: dict[str, Any]
) -> None:
    # Given a company on free
    before = ok(api.get(_url(company)))
    assert (before["plan"], before["status"]) == ("free", "active")

    # When it is put on pro with two add-ons
    put = ok(api.put(_url(company), {"plan": "pro", "add_ons": ["seats-pack", "boost"]}))

    # Then the same live subscription now holds pro and both add-ons, and keeps its period
    assert put["id"] == before["id"]
    assert (put["plan"], put["status"], put["add_ons"]) == ("pro", "active", ["boost", "seats-pack"])
    assert put["plan_id"] == ok(api.get(f"{API}/plans/pro"))["id"]
    assert (put["current_period_start"], put["current_period_end"]) == (
        before["current_period_start"],
        before["current_period_end"],
    )
    assert ok(api.get(_url(company))) == put
    assert ok(api.get(f"{API}/companies/{company['id']}"))["subscription"] == put
    assert Subscription.objects.count() == 1


def test_subscription_put__plan_named_by_id_or_other_case__accepted(api: APIClient, company: dict[str, Any]) -> None:
    pro_id = ok(api.get(f"{API}/plans/pro"))["id"]
    boost_id = ok(api.get(f"{API}/plans/boost"))["id"]

    assert ok(api.put(_url(company), {"plan": pro_id, "add_ons": [boost_id]}))["add_ons"] == ["boost"]
    assert ok(api.put(_url(company), {"plan": "FREE", "add_ons": ["BOOST"]}))["plan"] == "free"


def test_subscription_put__add_ons_omitted__add_ons_removed(api: APIClient, company: dict[str, Any]) -> None:
    ok(api.put(_url(company), {"plan": "pro", "add_ons": ["boost"]}))

    assert ok(api.put(_url(company), {"plan": "pro"}))["add_ons"] == []
    assert not SubscriptionAddOn.objects.exists()


def test_subscription_put__explicit_period_with_offset__stored_in_utc(api: APIClient, company: dict[str, Any]) -> None:
    put = ok(
        api.put(
            _url(company),
            {
                "plan": "pro",
                "current_period_start": "2030-01-01T02:00:00+02:00",
                "current_period_end": "2030-02-01T00:00:00Z",
            },
        )
    )

    assert put["current_period_start"].startswith("2030-01-01T00:00:00")
    assert put["current_period_start"].endswith(("Z", "+00:00"))
    assert put["current_period_end"].startswith("2030-02-01T00:00:00")


def test_subscription_put__company_without_subscription__creates_one(api: APIClient) -> None:
    # Given a company created before the catalog had any plan
    company = company_make(api)
    plan_make(api, "pro")

    put = ok(api.put(_url(company), {"plan": "pro"}))

    assert (put["plan"], put["status"]) == ("pro", "active")
    assert ok(api.get(_url(company))) == put


def test_subscription_put__trialing_with_trial_end__stored(api: APIClient, company: dict[str, Any]) -> None:
    put = ok(api.put(_url(company), {"plan": "pro", "status": "trialing", "trial_ends_at": "2031-05-01T00:00:00Z"}))

    assert put["status"] == "trialing"
    assert put["trial_ends_at"].startswith("2031-05-01T00:00:00")


def test_subscription_put__trialing_on_plan_with_trial_days__trial_end_defaults(
    api: APIClient, company: dict[str, Any]
) -> None:
    put = ok(api.put(_url(company), {"plan": "trial", "status": "trialing"}))

    assert put["status"] == "trialing"
    assert put["trial_ends_at"]


def test_subscription_put__inactive_add_on_already_held__kept(api: APIClient, company: dict[str, Any]) -> None:
    # Given a company holding boost, which is then retired
    ok(api.put(_url(company), {"plan": "pro", "add_ons": ["boost"]}))
    ok(api.patch(f"{API}/plans/boost", {"is_active": False}))

    # When its subscription is put again with boost, Then boost is kept
    assert ok(api.put(_url(company), {"plan": "free", "add_ons": ["boost"]}))["add_ons"] == ["boost"]


def test_subscription_put__current_plan_since_retired__kept(api: APIClient, company: dict[str, Any]) -> None:
    # Given a company on pro, which is then retired
    ok(api.put(_url(company), {"plan": "pro"}))
    ok(api.patch(f"{API}/plans/pro", {"is_active": False}))

    # When its subscription is put again on pro with an add-on, Then pro stays
    put = ok(api.put(_url(company), {"plan": "pro", "add_ons": ["boost"]}))

    assert (put["plan"], put["add_ons"]) == ("pro", ["boost"])


def test_subscription_put__far_future_period__stored(api: APIClient, company: dict[str, Any]) -> None:
    put = ok(api.put(_url(company), {"plan": "pro", "current_period_end": "9999-12-31T23:59:59Z"}))

    assert put["current_period_end"].startswith("9999-12-31T23:59:59")


# --- Cancelling and the fallback plan --------------------------------------------------------------------------


def test_subscription_put__canceled_with_fallback_plan__company_moves_to_fallback(
    api: APIClient, company: dict[str, Any]
) -> None:
    # Given free is the fallback plan and the company is on pro with an add-on
    ok(api.patch(f"{API}/plans/free", {"is_fallback": True}))
    ok(api.put(_url(company), {"plan": "pro", "add_ons": ["boost"]}))

    # When the subscription is canceled
    canceled = ok(api.put(_url(company), {"plan": "pro", "status": "canceled"}))

    # Then the answer is the ended subscription, and the company now lives on the fallback plan
    assert canceled["status"] == "canceled"
    assert canceled["canceled_at"]
    current = ok(api.get(_url(company)))
    assert (current["plan"], current["status"], current["add_ons"], current["canceled_at"]) == (
        "free",
        "active",
        [],
        None,
    )
    assert current["id"] != canceled["id"]
    assert ok(api.get(f"{API}/companies/{company['id']}"))["subscription"]["plan"] == "free"


def test_subscription_put__canceled_without_fallback_plan__ended_subscription_shown(
    api: APIClient, company: dict[str, Any]
) -> None:
    canceled = ok(api.put(_url(company), {"plan": "free", "status": "canceled"}))

    assert ok(api.get(_url(company))) == canceled
    assert ok(api.get(f"{API}/companies/{company['id']}"))["subscription"] is None


def test_subscription_put__after_cancel__starts_a_new_live_subscription(
    api: APIClient, company: dict[str, Any]
) -> None:
    canceled = ok(api.put(_url(company), {"plan": "free", "status": "canceled"}))

    live = ok(api.put(_url(company), {"plan": "pro"}))

    assert live["id"] != canceled["id"]
    assert ok(api.get(_url(company)))["plan"] == "pro"


# --- Bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "plan"),
        ({"plan": "nope"}, "plan"),
        ({"plan": 5}, "plan"),
        ({"plan": None}, "plan"),
        ({"plan": "boost"}, "plan"),
        ({"plan": "legacy"}, "plan"),
        ({"plan": "pro", "add_ons": ["nope"]}, "add_ons.0"),
        ({"plan": "pro", "add_ons": ["boost", "nope"]}, "add_ons.1"),
        ({"plan": "pro", "add_ons": ["free"]}, "add_ons.0"),
        ({"plan": "pro", "add_ons": ["old-boost"]}, "add_ons.0"),
        ({"plan": "pro", "add_ons": ["boost", "BOOST"]}, "add_ons.1"),
        ({"plan": "pro", "add_ons": [5]}, "add_ons.0"),
        ({"plan": "pro", "add_ons": "boost"}, "add_ons"),
        ({"plan": "pro", "add_ons": None}, "add_ons"),
        ({"plan": "pro", "add_ons": {"boost": 1}}, "add_ons"),
        ({"plan": "pro", "status": "paused"}, "status"),
        ({"plan": "pro", "status": "trialing"}, "trial_ends_at"),
        ({"plan": "pro", "status": "trialing", "trial_ends_at": "2030-01-01T00:00:00"}, "trial_ends_at"),
        ({"plan": "pro", "trial_ends_at": "2030-01-01"}, "trial_ends_at"),
        ({"plan": "pro", "current_period_start": "2030-01-01T00:00:00"}, "current_period_start"),
        ({"plan": "pro", "current_period_end": "2030-01-01 00:00"}, "current_period_end"),
        ({"plan": "pro", "current_period_start": "tomorrow"}, "current_period_start"),
        ({"plan": "pro", "current_period_start": 1893456000}, "current_period_start"),
        (
            {
                "plan": "pro",
                "current_period_start": "2030-02-01T00:00:00Z",
                "current_period_end": "2030-01-01T00:00:00Z",
            },
            "current_period_end",
        ),
        (
            {
                "plan": "pro",
                "current_period_start": "2030-01-01T00:00:00Z",
                "current_period_end": "2030-01-01T00:00:00Z",
            },
            "current_period_end",
        ),
        ({"plan": "pro", "current_period_end": "2000-01-01T00:00:00Z"}, "current_period_end"),
        ({"plan": "pro", "stripe_subscription_id": "sub_1"}, "stripe_subscription_id"),
        ({"plan": "pro", "add_ons": ["a\x00"]}, "add_ons.0"),
        ({"plan": "a\x00"}, "plan"),
        ({"plan": "pro", "current_period_start": "9999-12-15T00:00:00Z"}, "current_period_start"),
        ({"plan": "pro", "current_period_start": "0001-01-01T00:00:00+01:00"}, "current_period_start"),
        ({"plan": "pro", "current_period_end": "9999-12-31T23:59:59-05:00"}, "current_period_end"),
        ({"plan": "pro", "status": "trialing", "trial_ends_at": "9999-12-31T23:59:59-01:00"}, "trial_ends_at"),
    ],
)
def test_subscription_put__bad_input__400_naming_the_field_and_subscription_unchanged(
    api: APIClient, company: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    # Given the company's subscription as it is
    before = ok(api.get(_url(company)))

    # When a bad subscription is put
    refused(api.put(_url(company), body), 400, field)

    # Then the subscription is unchanged and no other was written
    assert ok(api.get(_url(company))) == before
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize("body", [[{"plan": "pro"}], "pro", None])
def test_subscription_put__body_not_an_object__400_and_unchanged(
    api: APIClient, company: dict[str, Any], body: Any
) -> None:
    before = ok(api.get(_url(company)))

    refused(send_json(api, "PUT", _url(company), body), 400)

    assert ok(api.get(_url(company))) == before


def test_subscription_put__company_without_subscription_and_bad_plan__nothing_written(api: APIClient) -> None:
    company = company_make(api)
    plan_make(api, "boost", plan_type="add_on")

    refused(api.put(_url(company), {"plan": "boost"}), 400, "plan")

    assert not Subscription.objects.exists()


@pytest.mark.parametrize("public_id", ["comp_nope", "%00", "%20"])
def test_subscription__unknown_company__404_and_nothing_written(api: APIClient, catalog: None, public_id: str) -> None:
    refused(api.get(f"{API}/companies/{public_id}/subscription"), 404)
    refused(api.put(f"{API}/companies/{public_id}/subscription", {"plan": "pro"}), 404)

    assert not Subscription.objects.exists()


def test_subscription__unsupported_method__405_json(api: APIClient, company: dict[str, Any]) -> None:
    refused(api.post(_url(company), {"plan": "pro"}), 405)
    refused(api.delete(_url(company)), 405)

    assert ok(api.get(_url(company)))["plan"] == "free"

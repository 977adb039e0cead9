"""Management API: a plan's prices (``/api/v1/plans/{plan}/prices``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Price
from tests.api.support import API, ok, plan_make, refused, send_json

PRICES = f"{API}/plans/pro/prices"


@pytest.fixture
def pro(api: APIClient) -> dict[str, Any]:
    """A base plan ``pro`` without prices."""
    return plan_make(api, "pro")


@pytest.fixture
def monthly_usd(api: APIClient, pro: dict[str, Any]) -> dict[str, Any]:
    """``pro`` costs 20.00 USD a month."""
    return ok(api.post(PRICES, {"interval": "month", "currency": "usd", "amount_minor": 2000}), 201)


def test_price__full_lifecycle__create_read_update_delete(api: APIClient, pro: dict[str, Any]) -> None:
    # Given a yearly price
    created = ok(api.post(PRICES, {"interval": "year", "currency": "eur", "amount_minor": 19900}), 201)
    assert created["id"].startswith("price_")
    assert (created["plan"], created["interval"], created["currency"], created["amount_minor"]) == (
        "pro",
        "year",
        "eur",
        19900,
    )

    # When read through the plan key and the plan id, Then both give it
    assert ok(api.get(f"{PRICES}/{created['id']}")) == created
    assert ok(api.get(f"{API}/plans/{pro['id']}/prices/{created['id']}")) == created
    assert ok(api.get(f"{API}/plans/PRO/prices/{created['id']}")) == created

    # When the amount changes, Then it is stored
    assert ok(api.patch(f"{PRICES}/{created['id']}", {"amount_minor": 17900}))["amount_minor"] == 17900
    assert ok(api.get(f"{PRICES}/{created['id']}"))["amount_minor"] == 17900

    # When deleted, Then it is gone
    assert api.delete(f"{PRICES}/{created['id']}").status_code == 204
    refused(api.get(f"{PRICES}/{created['id']}"), 404)
    assert not Price.objects.exists()


def test_price_create__upper_case_currency__stored_lower_case(api: APIClient, pro: dict[str, Any]) -> None:
    created = ok(api.post(PRICES, {"interval": "month", "currency": "USD", "amount_minor": 0}), 201)

    assert created["currency"] == "usd"
    assert created["amount_minor"] == 0


def test_price_list__more_than_a_page__paginated(api: APIClient, pro: dict[str, Any]) -> None:
    for currency in ("usd", "eur", "gbp"):
        ok(api.post(PRICES, {"interval": "month", "currency": currency, "amount_minor": 100}), 201)

    first = ok(api.get(PRICES, {"page_size": 2}))

    assert first["count"] == 3
    assert first["next"]
    assert [item["currency"] for item in first["results"]] == ["eur", "gbp"]
    assert [item["currency"] for item in ok(api.get(first["next"]))["results"]] == ["usd"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "usd", "amount_minor": 1}, "interval"),
        ({"interval": "month", "amount_minor": 1}, "currency"),
        ({"interval": "month", "currency": "usd"}, "amount_minor"),
        ({"interval": "week", "currency": "usd", "amount_minor": 1}, "interval"),
        ({"interval": "month", "currency": "us", "amount_minor": 1}, "currency"),
        ({"interval": "month", "currency": "dollars", "amount_minor": 1}, "currency"),
        ({"interval": "month", "currency": "u$d", "amount_minor": 1}, "currency"),
        ({"interval": "month", "currency": 840, "amount_minor": 1}, "currency"),
        ({"interval": "month", "currency": "usd", "amount_minor": "1000"}, "amount_minor"),
        ({"interval": "month", "currency": "usd", "amount_minor": 9.99}, "amount_minor"),
        ({"interval": "month", "currency": "usd", "amount_minor": -1}, "amount_minor"),
        ({"interval": "month", "currency": "usd", "amount_minor": True}, "amount_minor"),
        ({"interval": "month", "currency": "usd", "amount_minor": 10**30}, "amount_minor"),
        ({"interval": "month", "currency": "usd", "amount_minor": 1, "stripe_price_id": "p"}, "stripe_price_id"),
    ],
)
def test_price_create__bad_input__400_naming_the_field_and_nothing_written(
    api: APIClient, pro: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    refused(api.post(PRICES, body), 400, field)

    assert not Price.objects.exists()


@pytest.mark.parametrize("body", [[{"interval": "month", "currency": "usd", "amount_minor": 1}], None, "usd"])
def test_price_create__body_not_an_object__400_and_nothing_written(
    api: APIClient, pro: dict[str, Any], body: Any
) -> None:
    refused(send_json(api, "POST", PRICES, body), 400)

    assert not Price.objects.exists()


@pytest.mark.parametrize("currency", ["usd", "USD"])
def test_price_create__same_interval_and_currency__400_and_nothing_written(
    api: APIClient, monthly_usd: dict[str, Any], currency: str
) -> None:
    refused(api.post(PRICES, {"interval": "month", "currency": currency, "amount_minor": 3000}), 400)

    assert list(Price.objects.values_list("public_id", flat=True)) == [monthly_usd["id"]]


def test_price_create__same_interval_and_currency_on_another_plan__201(
    api: APIClient, monthly_usd: dict[str, Any]
) -> None:
    plan_make(api, "team")

    ok(api.post(f"{API}/plans/team/prices", {"interval": "month", "currency": "usd", "amount_minor": 5000}), 201)

    assert Price.objects.count() == 2


def test_price_create__unknown_plan__404_and_nothing_written(api: APIClient) -> None:
    refused(api.post(f"{API}/plans/nope/prices", {"interval": "month", "currency": "usd", "amount_minor": 1}), 404)

    assert not Price.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_minor": "5"}, "amount_minor"),
        ({"amount_minor": None}, "amount_minor"),
        ({"currency": "euro"}, "currency"),
        ({"interval": "day"}, "interval"),
        ({"plan": "team"}, "plan"),
        ({"id": "price_x"}, "id"),
    ],
)
def test_price_update__bad_input__400_naming_the_field_and_unchanged(
    api: APIClient, monthly_usd: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    refused(api.patch(f"{PRICES}/{monthly_usd['id']}", body), 400, field)

    assert ok(api.get(f"{PRICES}/{monthly_usd['id']}")) == monthly_usd


def test_price_update__onto_another_prices_interval_and_currency__400_and_unchanged(
    api: APIClient, monthly_usd: dict[str, Any]
) -> None:
    yearly = ok(api.post(PRICES, {"interval": "year", "currency": "usd", "amount_minor": 20000}), 201)

    refused(api.patch(f"{PRICES}/{yearly['id']}", {"interval": "month"}), 400)

    assert ok(api.get(f"{PRICES}/{yearly['id']}")) == yearly


def test_price_update__empty_body__200_and_unchanged(api: APIClient, monthly_usd: dict[str, Any]) -> None:
    assert ok(api.patch(f"{PRICES}/{monthly_usd['id']}", {})) == monthly_usd


def test_price_detail__price_of_another_plan__404(api: APIClient, monthly_usd: dict[str, Any]) -> None:
    plan_make(api, "team")

    for method in ("get", "patch", "delete"):
        refused(getattr(api, method)(f"{API}/plans/team/prices/{monthly_usd['id']}"), 404)
    assert Price.objects.count() == 1


@pytest.mark.parametrize("price_id", ["price_nope", "%00", "%20", "%E2%9C%93"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_price_detail__unknown_price__404_json(
    api: APIClient, monthly_usd: dict[str, Any], method: str, price_id: str
) -> None:
    refused(getattr(api, method)(f"{PRICES}/{price_id}"), 404)

    assert Price.objects.count() == 1


def test_price_detail__unknown_plan__404(api: APIClient, monthly_usd: dict[str, Any]) -> None:
    refused(api.get(f"{API}/plans/nope/prices/{monthly_usd['id']}"), 404)
    refused(api.get(f"{API}/plans/nope/prices"), 404)

"""Management API: credit types and their prices (``/api/v1/credit-types``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import CreditPrice, CreditType
from core.models import AuditEntry
from tests.api.support import API, ok, refused, send_json
from tests.credits_api.support import credit_type_make

TYPES = f"{API}/credit-types"


def test_credit_type__full_lifecycle__create_read_list_update(api: APIClient) -> None:
    # Given a credit type with every field and a price in two currencies
    created = ok(
        api.post(
            TYPES,
            {
                "key": "ai",
                "name": "AI credits",
                "singular_name": "AI credit",
                "plural_name": "AI credits",
                "burn_order": "fifo",
                "default_expiry_days": 30,
                "overdraft_limit": "12.5",
                "low_balance_threshold": 10,
                "low_balance_percent": 20,
                "prices": {"usd": "0.5", "eur": 1},
            },
        ),
        201,
    )
    assert created["id"].startswith("cred_")
    assert (created["key"], created["burn_order"], created["default_expiry_days"]) == ("ai", "fifo", 30)
    assert (created["overdraft_limit"], created["low_balance_threshold"]) == ("12.5", "10")
    assert created["low_balance_percent"] == 20
    assert created["prices"] == {"eur": "1", "usd": "0.5"}

    # When read by key, by id and listed, Then all agree
    assert ok(api.get(f"{TYPES}/ai")) == created
    assert ok(api.get(f"{TYPES}/{created['id']}")) == created
    assert ok(api.get(f"{TYPES}/AI")) == created
    assert ok(api.get(TYPES))["results"] == [created]

    # When changed: the overdraft removed, one price changed, one removed, one added
    patched = ok(
        api.patch(
            f"{TYPES}/ai", {"overdraft_limit": None, "name": "Robots", "prices": {"usd": "0.75", "eur": None, "gbp": 2}}
        )
    )

    # Then the change is stored, and currencies not named stay
    assert (patched["name"], patched["overdraft_limit"]) == ("Robots", None)
    assert patched["prices"] == {"gbp": "2", "usd": "0.75"}
    assert ok(api.get(f"{TYPES}/ai")) == {**patched, "updated_at": patched["updated_at"]}


def test_credit_type_create__defaults__never_expire_soonest_first_no_overdraft(api: APIClient) -> None:
    created = credit_type_make(api, "ai")

    assert (created["singular_name"], created["plural_name"]) == ("credit", "credits")
    assert created["burn_order"] == "soonest_expiring"
    assert (created["default_expiry_days"], created["overdraft_limit"], created["prices"]) == (None, None, {})


def test_credit_type_writes__each__one_audit_entry(api: APIClient) -> None:
    # Given a created credit type
    created = credit_type_make(api, "ai", prices={"usd": "0.5"})

    # When it changes, and then "changes" to the same values
    ok(api.patch(f"{TYPES}/ai", {"overdraft_limit": 5, "prices": {"usd": "0.5"}}))
    ok(api.patch(f"{TYPES}/ai", {"overdraft_limit": "5.000"}))

    # Then one entry records the creation with its prices, one the change, and none the no-op
    entries = list(AuditEntry.objects.filter(target_id=created["id"]).order_by("id"))
    assert [entry.action for entry in entries] == ["credit_type.created", "credit_type.updated"]
    assert (entries[0].after or {})["prices"] == {"usd": "0.5"}
    assert entries[0].actor_kind == "api_key"
    assert (entries[1].before, entries[1].after) == ({"overdraft_limit": None}, {"overdraft_limit": "5"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "ai"}, "name"),
        ({"key": "bad key!", "name": "x"}, "key"),
        ({"key": "ai", "name": "x", "overdraft_limit": -1}, "overdraft_limit"),
        ({"key": "ai", "name": "x", "overdraft_limit": True}, "overdraft_limit"),
        ({"key": "ai", "name": "x", "overdraft_limit": "lots"}, "overdraft_limit"),
        ({"key": "ai", "name": "x", "overdraft_limit": "0.0000001"}, "overdraft_limit"),
        ({"key": "ai", "name": "x", "low_balance_threshold": "-0.5"}, "low_balance_threshold"),
        ({"key": "ai", "name": "x", "low_balance_percent": 101}, "low_balance_percent"),
        ({"key": "ai", "name": "x", "default_expiry_days": 0}, "default_expiry_days"),
        ({"key": "ai", "name": "x", "burn_order": "random"}, "burn_order"),
        ({"key": "ai", "name": "x", "prices": {"usd": -1}}, "prices.usd"),
        ({"key": "ai", "name": "x", "prices": {"usd": False}}, "prices.usd"),
        ({"key": "ai", "name": "x", "prices": {"dollars": 1}}, "prices.dollars"),
        ({"key": "ai", "name": "x", "prices": ["usd", 1]}, "prices"),
        ({"key": "ai", "name": "x", "colour": "red"}, "colour"),
    ],
)
def test_credit_type_create__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    refused(send_json(api, "POST", TYPES, body), 400, field)

    assert not CreditType.objects.exists()
    assert not CreditPrice.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="credit_type").exists()


def test_credit_type_create__duplicate_key_in_other_case__400_on_key(api: APIClient) -> None:
    credit_type_make(api, "ai")

    refused(api.post(TYPES, {"key": "AI", "name": "Again"}), 400, "key")

    assert CreditType.objects.count() == 1


def test_credit_type_update__bad_price__400_nothing_changed(api: APIClient) -> None:
    credit_type_make(api, "ai", prices={"usd": "0.5"})

    refused(api.patch(f"{TYPES}/ai", {"name": "Renamed", "prices": {"eur": 1, "us": 2}}), 400, "prices.us")

    stored = ok(api.get(f"{TYPES}/ai"))
    assert (stored["name"], stored["prices"]) == ("AI credits", {"usd": "0.5"})
    assert AuditEntry.objects.filter(action="credit_type.updated").count() == 0


def test_credit_type_get__unknown__404(api: APIClient) -> None:
    refused(api.get(f"{TYPES}/nope"), 404)
    refused(api.patch(f"{TYPES}/nope", {"name": "x"}), 404)

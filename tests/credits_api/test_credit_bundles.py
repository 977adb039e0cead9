"""Management API: credit bundles, the packs customers buy (``/api/v1/credit-bundles``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import CreditBundle
from core.models import AuditEntry
from tests.api.support import API, ok, refused, send_json
from tests.credits_api.support import credit_type_make

BUNDLES = f"{API}/credit-bundles"


@pytest.fixture
def credit_types(api: APIClient) -> dict[str, dict[str, Any]]:
    return {"ai": credit_type_make(api, "ai"), "sms": credit_type_make(api, "sms")}


def _bundle(**fields: Any) -> dict[str, Any]:
    return {
        "key": "ai-1000",
        "name": "1000 AI credits",
        "credit_type": "ai",
        "quantity": 1000,
        "price_minor": 900,
        "currency": "usd",
        **fields,
    }


def test_credit_bundle__full_lifecycle__create_read_list_update(
    api: APIClient, credit_types: dict[str, dict[str, Any]]
) -> None:
    # Given a bundle of AI credits
    created = ok(api.post(BUNDLES, _bundle(quantity="1000.5", expiry_days=90)), 201)
    assert created["id"].startswith("bndl_")
    assert (created["credit_type"], created["credit_type_id"]) == ("ai", credit_types["ai"]["id"])
    assert (created["quantity"], created["price_minor"], created["currency"]) == ("1000.5", 900, "usd")
    assert (created["expiry_days"], created["is_active"]) == (90, True)

    # When read by key and id and listed, Then all agree
    assert ok(api.get(f"{BUNDLES}/ai-1000")) == created
    assert ok(api.get(f"{BUNDLES}/{created['id']}")) == created
    assert ok(api.get(BUNDLES))["results"] == [created]

    # When withdrawn from sale and moved to another credit type (by its id)
    patched = ok(
        api.patch(f"{BUNDLES}/ai-1000", {"is_active": False, "credit_type": credit_types["sms"]["id"], "quantity": 5})
    )

    # Then the change is stored
    assert (patched["is_active"], patched["credit_type"], patched["quantity"]) == (False, "sms", "5")
    assert ok(api.get(f"{BUNDLES}/ai-1000")) == patched


def test_credit_bundle_list__filtered_by_credit_type__only_its_bundles(
    api: APIClient, credit_types: dict[str, dict[str, Any]]
) -> None:
    ok(api.post(BUNDLES, _bundle()), 201)
    ok(api.post(BUNDLES, _bundle(key="sms-10", credit_type="sms", quantity=10)), 201)

    assert [item["key"] for item in ok(api.get(BUNDLES, {"credit_type": "sms"}))["results"]] == ["sms-10"]
    refused(api.get(BUNDLES, {"credit_type": "nope"}), 400, "credit_type")


def test_credit_bundle_writes__each__one_audit_entry(api: APIClient, credit_types: dict[str, dict[str, Any]]) -> None:
    created = ok(api.post(BUNDLES, _bundle()), 201)
    ok(api.patch(f"{BUNDLES}/ai-1000", {"price_minor": 1000}))

    entries = list(AuditEntry.objects.filter(target_id=created["id"]).order_by("id"))
    assert [entry.action for entry in entries] == ["credit_bundle.created", "credit_bundle.updated"]
    assert (entries[0].after or {})["credit_type"] == credit_types["ai"]["id"]
    assert (entries[1].before, entries[1].after) == ({"price_minor": 900}, {"price_minor": 1000})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"credit_type": "nope"}, "credit_type"),
        ({"price_minor": -1}, "price_minor"),
        ({"price_minor": "900"}, "price_minor"),
        ({"currency": "US$"}, "currency"),
        ({"expiry_days": 0}, "expiry_days"),
        ({"key": "bad key"}, "key"),
    ],
)
def test_credit_bundle_create__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, credit_types: dict[str, dict[str, Any]], fields: dict[str, Any], field: str
) -> None:
    refused(send_json(api, "POST", BUNDLES, _bundle(**fields)), 400, field)

    assert not CreditBundle.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="credit_bundle").exists()


def test_credit_bundle_create__duplicate_key__400_on_key(
    api: APIClient, credit_types: dict[str, dict[str, Any]]
) -> None:
    ok(api.post(BUNDLES, _bundle()), 201)

    refused(api.post(BUNDLES, _bundle()), 400, "key")

    assert CreditBundle.objects.count() == 1


def test_credit_bundle__unknown__404(api: APIClient) -> None:
    refused(api.get(f"{BUNDLES}/nope"), 404)
    refused(api.patch(f"{BUNDLES}/nope", {"name": "x"}), 404)

"""Management API: credit entitlements through the plan entitlement endpoint (``value_type: "credit"``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Entitlement
from core.models import AuditEntry
from tests.api.support import API, feature_make, ok, plan_make, refused, send_json
from tests.credits_api.support import credit_type_make

ENTITLEMENTS = f"{API}/plans/pro/entitlements"
MISSING = object()  # a field left out of the request


@pytest.fixture
def catalog(api: APIClient) -> dict[str, dict[str, Any]]:
    """A plan ``pro``, an event feature ``calls``, a boolean feature ``sso`` and the credit types ``ai`` and ``gpu``."""
    return {
        "pro": plan_make(api, "pro"),
        "calls": feature_make(api, "calls", feature_type="event", event_name="api.call"),
        "sso": feature_make(api, "sso"),
        "ai": credit_type_make(api, "ai"),
        "gpu": credit_type_make(api, "gpu"),
    }


def test_credit_entitlement__lifecycle__created_read_changed_and_back_to_numeric(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    # Given an event feature that burns 2.5 AI credits a call
    created = ok(
        api.post(
            ENTITLEMENTS, {"feature": "calls", "value_type": "credit", "credit_type": "ai", "consumption_rate": 2.5}
        ),
        201,
    )
    assert (created["value_type"], created["credit_type"], created["consumption_rate"]) == ("credit", "ai", "2.5")
    assert (created["allocation"], created["metric_period"]) == (None, None)

    # When read and listed, Then the credit fields show
    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == created
    assert ok(api.get(ENTITLEMENTS))["results"] == [created]

    # When the credit type (by id) and rate (a decimal string) change
    patched = ok(api.patch(f"{ENTITLEMENTS}/calls", {"credit_type": catalog["gpu"]["id"], "consumption_rate": "0.001"}))
    assert (patched["credit_type"], patched["consumption_rate"]) == ("gpu", "0.001")
    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == patched

    # When it turns into a numeric limit, clearing the credit fields
    numeric = ok(
        api.patch(
            f"{ENTITLEMENTS}/calls",
            {
                "value_type": "numeric",
                "allocation": 10,
                "metric_period": "current_day",
                "credit_type": None,
                "consumption_rate": None,
            },
        )
    )
    assert (numeric["credit_type"], numeric["consumption_rate"], numeric["allocation"]) == (None, None, 10)

    # Then each write left its audit entry
    actions = list(AuditEntry.objects.filter(target_id=created["id"]).values_list("action", flat=True))
    assert sorted(actions) == ["entitlement.created", "entitlement.updated", "entitlement.updated"]


def test_entitlement__not_credit__shows_null_credit_fields(api: APIClient, catalog: dict[str, dict[str, Any]]) -> None:
    created = ok(api.post(ENTITLEMENTS, {"feature": "sso", "value_type": "boolean"}), 201)

    assert (created["credit_type"], created["consumption_rate"]) == (None, None)


def test_credit_entitlement__zero_rate__free_but_metered(api: APIClient, catalog: dict[str, dict[str, Any]]) -> None:
    body = {"feature": "calls", "value_type": "credit", "credit_type": "ai", "consumption_rate": "0"}

    assert ok(api.post(ENTITLEMENTS, body), 201)["consumption_rate"] == "0"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"feature": "sso"}, "value_type"),
        ({"credit_type": MISSING}, "credit_type"),
        ({"consumption_rate": MISSING}, "consumption_rate"),
        ({"credit_type": None}, "credit_type"),
        ({"credit_type": "nope"}, "credit_type"),
        ({"credit_type": 7}, "credit_type"),
        ({"consumption_rate": -1}, "consumption_rate"),
        ({"consumption_rate": "-0.5"}, "consumption_rate"),
        ({"consumption_rate": True}, "consumption_rate"),
        ({"consumption_rate": "fast"}, "consumption_rate"),
        ({"consumption_rate": "0.0000001"}, "consumption_rate"),
        ({"allocation": 10}, "allocation"),
        ({"value_type": "numeric", "allocation": 5, "metric_period": "current_day"}, "credit_type"),
    ],
)
def test_credit_entitlement_create__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, catalog: dict[str, dict[str, Any]], fields: dict[str, Any], field: str
) -> None:
    body = {"feature": "calls", "value_type": "credit", "credit_type": "ai", "consumption_rate": 1, **fields}
    body = {name: value for name, value in body.items() if value is not MISSING}

    refused(send_json(api, "POST", ENTITLEMENTS, body), 400, field)

    assert not Entitlement.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="entitlement").exists()


def test_credit_entitlement_update__unknown_credit_type__400_unchanged(
    api: APIClient, catalog: dict[str, dict[str, Any]]
) -> None:
    body = {"feature": "calls", "value_type": "credit", "credit_type": "ai", "consumption_rate": 1}
    created = ok(api.post(ENTITLEMENTS, body), 201)

    refused(api.patch(f"{ENTITLEMENTS}/calls", {"credit_type": "nope", "consumption_rate": 3}), 400, "credit_type")

    assert ok(api.get(f"{ENTITLEMENTS}/calls")) == created

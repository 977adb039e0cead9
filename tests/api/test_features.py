"""Management API: features (``/api/v1/features``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Feature
from tests.api.support import API, feature_make, ok, plan_make, refused, send_json

FEATURES = f"{API}/features"


def test_feature__full_lifecycle__create_read_update_delete(api: APIClient) -> None:
    # Given a new event feature
    created = feature_make(api, "search", feature_type="event", event_name="search.run", unit_plural="searches")
    assert created["id"].startswith("feat_")
    assert created["feature_type"] == "event"
    assert created["event_name"] == "search.run"

    # When it is read by key and by public id, Then both answer the same feature
    assert ok(api.get(f"{FEATURES}/search")) == created
    assert ok(api.get(f"{FEATURES}/{created['id']}")) == created

    # When it is renamed, Then the change is returned and stored
    patched = ok(api.patch(f"{FEATURES}/{created['id']}", {"name": "Searches", "description": "Full-text"}))
    assert patched["name"] == "Searches"
    assert patched["description"] == "Full-text"
    assert patched["event_name"] == "search.run"
    assert ok(api.get(f"{FEATURES}/search"))["name"] == "Searches"

    # When it is deleted, Then it is gone by key and by id
    assert api.delete(f"{FEATURES}/search").status_code == 204
    refused(api.get(f"{FEATURES}/search"), 404)
    refused(api.get(f"{FEATURES}/{created['id']}"), 404)
    assert not Feature.objects.exists()


def test_feature_get__key_in_other_case__found(api: APIClient) -> None:
    created = feature_make(api, "sso")

    assert ok(api.get(f"{FEATURES}/SSO"))["id"] == created["id"]
    assert ok(api.patch(f"{FEATURES}/Sso", {"name": "Single sign-on"}))["name"] == "Single sign-on"


def test_feature_create__defaults__boolean_with_empty_meters(api: APIClient) -> None:
    created = feature_make(api, "export")

    assert created["feature_type"] == "boolean"
    assert created["event_name"] == ""
    assert created["trait_key"] == ""


def test_feature_create__trait_feature__stored_with_trait_key(api: APIClient) -> None:
    created = feature_make(api, "seats", feature_type="trait", trait_key="seats_used")

    assert created["trait_key"] == "seats_used"
    assert Feature.objects.get(key="seats").feature_type == "trait"


def test_feature_list__more_than_a_page__paginated(api: APIClient) -> None:
    # Given three features
    for key in ("c-feature", "a-feature", "b-feature"):
        feature_make(api, key)

    # When the first page of two is read
    first = ok(api.get(FEATURES, {"page_size": 2}))

    # Then it counts all, links the next page, and is ordered by key
    assert first["count"] == 3
    assert first["next"]
    assert first["previous"] is None
    assert [item["key"] for item in first["results"]] == ["a-feature", "b-feature"]
    second = ok(api.get(FEATURES, {"page_size": 2, "page": 2}))
    assert second["next"] is None
    assert [item["key"] for item in second["results"]] == ["c-feature"]


def test_feature_list__page_past_the_end__404_json(api: APIClient) -> None:
    feature_make(api, "one")

    refused(api.get(FEATURES, {"page": 9}), 404)
    refused(api.get(FEATURES, {"page": "abc"}), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No key"}, "key"),
        ({"key": "no-name"}, "name"),
        ({"key": "k", "name": 123}, "name"),
        ({"key": 5, "name": "Five"}, "key"),
        ({"key": "k", "name": "K", "description": None}, "description"),
        ({"key": "k", "name": "K", "feature_type": "gauge"}, "feature_type"),
        ({"key": "k", "name": "K", "colour": "red"}, "colour"),
        ({"key": "Bad Key!", "name": "Bad"}, "key"),
        ({"key": "", "name": "Empty"}, "key"),
        ({"key": "k" * 101, "name": "Long"}, "key"),
        ({"key": "k", "name": "K", "unit_plural": ["x"]}, "unit_plural"),
        ({"key": "k", "name": "a\x00b"}, "name"),
        ({"key": "k\x00", "name": "K"}, "key"),
    ],
)
def test_feature_create__bad_field__400_naming_it_and_nothing_written(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    refused(api.post(FEATURES, body), 400, field)

    assert not Feature.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"key": "k", "name": "K", "feature_type": "event"},
        {"key": "k", "name": "K", "feature_type": "boolean", "event_name": "clicked"},
        {"key": "k", "name": "K", "feature_type": "trait"},
        {"key": "k", "name": "K", "feature_type": "event", "event_name": "e", "trait_key": "t"},
    ],
)
def test_feature_create__meter_does_not_fit_type__400_and_nothing_written(api: APIClient, body: dict[str, Any]) -> None:
    refused(api.post(FEATURES, body), 400)

    assert not Feature.objects.exists()


@pytest.mark.parametrize("body", [[{"key": "k", "name": "K"}], "k", 5, None])
def test_feature_create__body_not_an_object__400_and_nothing_written(api: APIClient, body: Any) -> None:
    refused(send_json(api, "POST", FEATURES, body), 400)

    assert not Feature.objects.exists()


def test_feature_create__malformed_json__400(api: APIClient) -> None:
    refused(api.post(FEATURES, data='{"key": "k",', content_type="application/json"), 400)

    assert not Feature.objects.exists()


@pytest.mark.parametrize("key", ["search", "SEARCH", "Search", " search "])
def test_feature_create__key_taken_in_any_case__400_on_key_and_nothing_written(api: APIClient, key: str) -> None:
    # Given a feature "search"
    feature_make(api, "search")

    # When another feature claims the same key, whatever its case or padding
    refused(api.post(FEATURES, {"key": key, "name": "Again"}), 400, "key")

    # Then only the first exists
    assert list(Feature.objects.values_list("key", flat=True)) == ["search"]


def test_feature_create__body_nested_beyond_recursion_limit__400_and_nothing_written(api: APIClient) -> None:
    api.raise_request_exception = False

    response = api.generic("POST", FEATURES, "[" * 100_000 + "]" * 100_000, content_type="application/json")

    refused(response, 400)
    assert not Feature.objects.exists()


def test_feature_create__padded_key__stored_trimmed(api: APIClient) -> None:
    assert feature_make(api, "  export  ")["key"] == "export"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 123}, "name"),
        ({"name": ""}, "name"),
        ({"key": "Bad Key!"}, "key"),
        ({"key": "other"}, "key"),
        ({"colour": "red"}, "colour"),
        ({"id": "feat_x"}, "id"),
    ],
)
def test_feature_update__bad_field__400_naming_it_and_feature_unchanged(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    # Given two features
    feature_make(api, "other")
    before = feature_make(api, "search")

    # When one is patched with a bad field
    refused(api.patch(f"{FEATURES}/search", body), 400, field)

    # Then it is unchanged
    assert ok(api.get(f"{FEATURES}/search")) == before


@pytest.mark.parametrize("body", [[], [{"name": "x"}], "name", None])
def test_feature_update__body_not_an_object__400_and_feature_unchanged(api: APIClient, body: Any) -> None:
    before = feature_make(api, "search")

    refused(send_json(api, "PATCH", f"{FEATURES}/search", body), 400)

    assert ok(api.get(f"{FEATURES}/search")) == before


def test_feature_update__empty_body__200_and_unchanged(api: APIClient) -> None:
    before = feature_make(api, "search")

    after = ok(api.patch(f"{FEATURES}/search", {}))

    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_feature_update__no_body_at_all__200_and_unchanged(api: APIClient) -> None:
    before = feature_make(api, "search")

    after = ok(api.patch(f"{FEATURES}/search"))

    assert (after["key"], after["name"]) == (before["key"], before["name"])


def test_feature_update__type_change_while_in_use__400_and_type_kept(api: APIClient) -> None:
    # Given an event feature that a plan uses
    feature_make(api, "calls", feature_type="event", event_name="api.call")
    plan_make(api, "pro")
    ok(
        api.post(
            f"{API}/plans/pro/entitlements",
            {"feature": "calls", "value_type": "numeric", "allocation": 10, "metric_period": "current_day"},
        ),
        201,
    )

    # When its type is changed
    refused(api.patch(f"{FEATURES}/calls", {"feature_type": "trait", "event_name": "", "trait_key": "t"}), 400)

    # Then it keeps its type
    assert ok(api.get(f"{FEATURES}/calls"))["feature_type"] == "event"


def test_feature_update__type_change_when_unused__200(api: APIClient) -> None:
    feature_make(api, "calls", feature_type="event", event_name="api.call")

    changed = ok(api.patch(f"{FEATURES}/calls", {"feature_type": "boolean", "event_name": ""}))

    assert changed["feature_type"] == "boolean"


def test_feature_delete__used_by_a_plan__409_and_nothing_deleted(api: APIClient) -> None:
    # Given a feature that a plan's entitlement uses
    feature_make(api, "sso")
    plan_make(api, "pro")
    ok(api.post(f"{API}/plans/pro/entitlements", {"feature": "sso", "value_type": "boolean"}), 201)

    # When the feature is deleted
    body = refused(api.delete(f"{FEATURES}/sso"), 409)

    # Then it is refused, naming the user, and both still exist
    assert "pro" in body["error"]
    assert ok(api.get(f"{FEATURES}/sso"))["key"] == "sso"
    assert ok(api.get(f"{API}/plans/pro/entitlements"))["count"] == 1


def test_feature_delete__after_entitlement_removed__204(api: APIClient) -> None:
    feature_make(api, "sso")
    plan_make(api, "pro")
    ok(api.post(f"{API}/plans/pro/entitlements", {"feature": "sso", "value_type": "boolean"}), 201)
    assert api.delete(f"{API}/plans/pro/entitlements/sso").status_code == 204

    assert api.delete(f"{FEATURES}/sso").status_code == 204
    assert not Feature.objects.exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_feature_detail__unknown_identifier__404_json(api: APIClient, method: str) -> None:
    body = refused(getattr(api, method)(f"{FEATURES}/nope"), 404)

    assert "nope" in body["error"]


def test_feature_detail__deleted_feature__404_for_every_method(api: APIClient) -> None:
    created = feature_make(api, "gone")
    assert api.delete(f"{FEATURES}/gone").status_code == 204

    for path in (f"{FEATURES}/gone", f"{FEATURES}/{created['id']}"):
        refused(api.get(path), 404)
        refused(api.patch(path, {"name": "Back"}), 404)
        refused(api.delete(path), 404)


@pytest.mark.parametrize(
    "identifier",
    ["%20", "%00", "a%00b", "%E2%9C%93", "feat_", "..", "%25", "'%20OR%201=1", "x" * 500, "%F0%9F%92%A9"],
)
def test_feature_detail__odd_identifier__404_not_500(api: APIClient, identifier: str) -> None:
    feature_make(api, "search")

    refused(api.get(f"{FEATURES}/{identifier}"), 404)
    refused(api.patch(f"{FEATURES}/{identifier}", {"name": "x"}), 404)


def test_feature_list__method_not_allowed__405_json(api: APIClient) -> None:
    refused(api.put(FEATURES, {"key": "k", "name": "K"}), 405)
    refused(api.post(f"{FEATURES}/search", {"key": "k", "name": "K"}), 405)

    assert not Feature.objects.exists()


def test_feature_create__form_encoded_body__415_and_nothing_written(api: APIClient) -> None:
    response = api.post(FEATURES, {"key": "k", "name": "K"}, format="multipart")

    refused(response, 415)
    assert not Feature.objects.exists()

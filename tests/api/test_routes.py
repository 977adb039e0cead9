"""Management API routing: unknown paths answer JSON 404s, and the schema and docs are public."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.support import API, ok

UNKNOWN = [
    f"{API}/",
    f"{API}/nope",
    f"{API}/features/",
    f"{API}/features/search/extra",
    f"{API}/plans/pro/entitlements/sso/extra",
    f"{API}/companies/comp_x/subscription/extra",
    f"{API}/companies/comp_x/users",
    "/api/v2/features",
    "/api/v1",
]


@pytest.mark.parametrize("path", UNKNOWN)
@pytest.mark.parametrize("client_name", ["api", "anonymous_api"])
def test_api__unknown_route__404_json(request: pytest.FixtureRequest, client_name: str, path: str) -> None:
    client: APIClient = request.getfixturevalue(client_name)

    response = client.get(path)

    assert response.status_code == 404, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]
    assert body["code"] == "not_found"


DESCRIBED = [
    f"{API}/features",
    f"{API}/features/search",
    f"{API}/plans",
    f"{API}/plans/pro",
    f"{API}/plans/pro/entitlements",
    f"{API}/plans/pro/entitlements/search",
    f"{API}/plans/pro/prices",
    f"{API}/plans/pro/prices/price_x",
    f"{API}/companies",
]


@pytest.mark.parametrize("path", DESCRIBED)
def test_api__options_with_key__200_description(api: APIClient, path: str) -> None:
    body = ok(api.options(path))

    assert body["renders"] == ["application/json"]


def test_api__options_on_subscription__200_for_a_company_404_for_none(api: APIClient) -> None:
    company = ok(api.post(f"{API}/companies", {"name": "Acme"}), 201)

    assert "PUT" in ok(api.options(f"{API}/companies/{company['id']}/subscription"))["actions"]
    assert api.options(f"{API}/companies/comp_nope/subscription").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*DESCRIBED, f"{API}/companies/comp_x/subscription"])
def test_api__options_without_key__401(anonymous_api: APIClient, path: str) -> None:
    assert anonymous_api.options(path).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_documentation__without_key__200(anonymous_api: APIClient, path: str) -> None:
    assert anonymous_api.get(path).status_code == 200


@pytest.mark.django_db
def test_api_schema__json__lists_every_management_path(anonymous_api: APIClient) -> None:
    schema = ok(anonymous_api.get("/api/schema/", {"format": "json"}))

    paths = set(schema["paths"])
    assert {
        "/api/v1/features",
        "/api/v1/features/{identifier}",
        "/api/v1/plans",
        "/api/v1/plans/{identifier}",
        "/api/v1/plans/{identifier}/entitlements",
        "/api/v1/plans/{identifier}/entitlements/{feature_identifier}",
        "/api/v1/plans/{identifier}/prices",
        "/api/v1/plans/{identifier}/prices/{price_id}",
        "/api/v1/companies",
        "/api/v1/companies/{public_id}",
        "/api/v1/companies/{public_id}/subscription",
    } <= paths

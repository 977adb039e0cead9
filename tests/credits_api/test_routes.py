"""The credit endpoints are described by the OpenAPI schema and need an API key."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.support import API, ok

CREDIT_PATHS = {
    "/api/v1/credit-types",
    "/api/v1/credit-types/{identifier}",
    "/api/v1/credit-bundles",
    "/api/v1/credit-bundles/{identifier}",
    "/api/v1/companies/{public_id}/credit-grants",
    "/api/v1/companies/{public_id}/credit-refunds",
    "/api/v1/companies/{public_id}/credit-balances",
    "/api/v1/companies/{public_id}/credit-ledger",
}


@pytest.mark.django_db
def test_api_schema__json__lists_every_credit_path(anonymous_api: APIClient) -> None:
    schema = ok(anonymous_api.get("/api/schema/", {"format": "json"}))

    assert set(schema["paths"]) >= CREDIT_PATHS


@pytest.mark.django_db
@pytest.mark.parametrize("path", [f"{API}/credit-types", f"{API}/credit-types/ai", f"{API}/credit-bundles"])
def test_credit_catalog__without_key__401(anonymous_api: APIClient, path: str) -> None:
    assert anonymous_api.get(path).status_code == 401
    assert anonymous_api.post(path, {}).status_code == 401

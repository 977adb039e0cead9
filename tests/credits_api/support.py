"""Builders shared by the credit API tests; everything goes through the HTTP API."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.api.support import API, ok


def credit_type_make(api: APIClient, key: str = "ai", **fields: Any) -> dict[str, Any]:
    """Create a credit type and return its JSON."""
    return ok(api.post(f"{API}/credit-types", {"key": key, "name": f"{key.upper()} credits", **fields}), 201)


def company_path(company: dict[str, Any], tail: str) -> str:
    """The path of one of the company's credit endpoints."""
    return f"{API}/companies/{company['id']}/{tail}"

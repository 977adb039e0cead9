"""Small assertions and builders shared by the management-API tests; everything goes through the HTTP API."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.test import APIClient

API = "/api/v1"


def ok(response: Any, status: int = 200) -> Any:
    """Assert the status and return the JSON body."""
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


def refused(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """Assert a JSON error answer with ``error`` and ``code``, naming each of ``fields``; return its body."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert isinstance(body.get("error"), str), body
    assert body["error"]
    assert isinstance(body.get("code"), str), body
    for field in fields:
        assert field in body.get("fields", {}), body
        assert all(isinstance(message, str) and message for message in body["fields"][field]), body
    return body


def send_json(client: APIClient, method: str, path: str, body: Any) -> Any:
    """Send ``body`` as the JSON text of the request, whatever it is (``null``, a list, a string)."""
    return client.generic(method, path, json.dumps(body), content_type="application/json")


def feature_make(api: APIClient, key: str, **fields: Any) -> dict[str, Any]:
    """Create a feature (boolean unless told) and return its JSON."""
    return ok(api.post(f"{API}/features", {"key": key, "name": key.title(), **fields}), 201)


def plan_make(api: APIClient, key: str, **fields: Any) -> dict[str, Any]:
    """Create a plan (base unless told) and return its JSON."""
    return ok(api.post(f"{API}/plans", {"key": key, "name": key.title(), **fields}), 201)


def company_make(api: APIClient, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    """Create a company and return its JSON."""
    return ok(api.post(f"{API}/companies", {"name": name, **fields}), 201)

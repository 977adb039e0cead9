"""Health endpoints and the create_api_key command, through their public doors."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient


def test_healthz__process_up__200(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz__dependencies_up__200_naming_checks(client: Client, settings: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    expected = ["cache", "database", "redis"] if settings.REDIS_URL else ["cache", "database"]
    assert response.json()["checked"] == expected


@pytest.mark.django_db
def test_readyz__redis_unreachable__503_naming_redis(client: Client, settings: Any) -> None:
    # Given a Redis URL where nothing listens (the cache stays as configured)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failing"]) == ["redis"]


@pytest.mark.django_db
def test_create_api_key__command__prints_secret_last_and_it_authenticates() -> None:
    out = io.StringIO()
    call_command("create_api_key", "deploy bot", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("sk_")
    assert APIClient(headers={"X-Schematic-Api-Key": secret}).get("/api/v1/features").status_code == 200
    assert APIClient(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/plans").status_code == 200

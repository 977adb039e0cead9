"""Management API: authentication by API key (``X-Schematic-Api-Key`` or ``Authorization: Bearer``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Feature
from core.actors import SYSTEM_ACTOR
from entitlements.models import ApiKey
from entitlements.services.api_keys import api_key_create, api_key_revoke, api_key_secret_hash
from tests.api.support import API, ok, refused

ENDPOINTS = [
    f"{API}/features",
    f"{API}/features/search",
    f"{API}/plans",
    f"{API}/plans/pro",
    f"{API}/plans/pro/entitlements",
    f"{API}/plans/pro/entitlements/search",
    f"{API}/plans/pro/prices",
    f"{API}/plans/pro/prices/price_x",
    f"{API}/companies",
    f"{API}/companies/comp_x",
    f"{API}/companies/comp_x/subscription",
]


def _client(**headers: str) -> APIClient:
    client = APIClient(headers=headers)
    client.default_format = "json"
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_api__no_key__401_json_with_error(anonymous_api: APIClient, path: str) -> None:
    response = anonymous_api.get(path)

    body = refused(response, 401)
    assert body["code"] == "not_authenticated"
    assert response["WWW-Authenticate"]


@pytest.mark.django_db
def test_api__no_key_on_a_write__401_and_nothing_written(anonymous_api: APIClient) -> None:
    refused(anonymous_api.post(f"{API}/features", {"key": "k", "name": "K"}), 401)

    assert not Feature.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Schematic-Api-Key": "sk_wrong"},
        {"Authorization": "Bearer sk_wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"X-Schematic-Api-Key": "   "},
    ],
)
def test_api__wrong_key__401_json_and_nothing_written(api_secret: str, headers: dict[str, str]) -> None:
    client = _client(**headers)

    refused(client.get(f"{API}/features"), 401)
    refused(client.post(f"{API}/features", {"key": "k", "name": "K"}), 401)

    assert not Feature.objects.exists()


@pytest.mark.django_db
def test_api__key_that_differs_by_one_character__401(api_secret: str) -> None:
    tampered = api_secret[:-1] + ("A" if api_secret[-1] != "A" else "B")

    refused(_client(**{"X-Schematic-Api-Key": tampered}).get(f"{API}/features"), 401)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_api__authorization_bearer__accepted(api_secret: str, scheme: str) -> None:
    client = _client(Authorization=f"{scheme} {api_secret}")

    ok(client.post(f"{API}/features", {"key": "search", "name": "Search"}), 201)
    assert ok(client.get(f"{API}/features"))["count"] == 1


def test_api__revoked_key__401_while_other_keys_work(api_secret: str) -> None:
    # Given two keys, one of which is revoked
    other = api_key_create(actor=SYSTEM_ACTOR, name="other")
    revoked = ApiKey.objects.get(secret_hash=api_key_secret_hash(api_secret))
    ok(_client(**{"X-Schematic-Api-Key": api_secret}).get(f"{API}/features"))
    api_key_revoke(actor=SYSTEM_ACTOR, api_key=revoked, now=timezone.now())

    # When each is used
    for client in (_client(**{"X-Schematic-Api-Key": api_secret}), _client(Authorization=f"Bearer {api_secret}")):
        body = refused(client.get(f"{API}/features"), 401)
        assert "revoked" in body["error"].lower()
        refused(client.post(f"{API}/features", {"key": "k", "name": "K"}), 401)

    # Then only the unrevoked key still works
    assert not Feature.objects.exists()
    ok(_client(**{"X-Schematic-Api-Key": other.secret}).get(f"{API}/features"))


def test_api__request_with_key__last_used_at_recorded(api: APIClient, api_secret: str) -> None:
    key = ApiKey.objects.get(secret_hash=api_key_secret_hash(api_secret))
    assert key.last_used_at is None
    before = timezone.now()

    ok(api.get(f"{API}/features"))

    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_at >= before


@pytest.mark.django_db
def test_api__refused_key__last_used_at_not_recorded(api_secret: str) -> None:
    key = ApiKey.objects.get(secret_hash=api_key_secret_hash(api_secret))
    api_key_revoke(actor=SYSTEM_ACTOR, api_key=key, now=timezone.now())

    refused(_client(**{"X-Schematic-Api-Key": api_secret}).get(f"{API}/features"), 401)

    key.refresh_from_db()
    assert key.last_used_at is None


def test_api__admin_session_without_key__401(admin_client: Client) -> None:
    response = admin_client.get(f"{API}/features")

    assert response.status_code == 401
    assert response.json()["error"]

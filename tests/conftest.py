"""Shared fixtures: an API client holding a real API key, and the admin client from pytest-django.

Tests run against PostgreSQL and Redis when ``DATABASE_URL`` / ``REDIS_URL`` are set, else SQLite and in-memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.actors import SYSTEM_ACTOR
from entitlements.services.api_keys import api_key_create


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Each test starts with an empty cache (Redis is shared across tests when configured)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_secret(db: None) -> str:
    """The secret of a freshly issued API key."""
    return api_key_create(actor=SYSTEM_ACTOR, name="tests").secret


@pytest.fixture
def api(api_secret: str) -> APIClient:
    """A DRF test client that sends the API key the way the Schematic SDKs do, and JSON bodies."""
    client = APIClient(headers={"X-Schematic-Api-Key": api_secret})
    client.default_format = "json"
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    """A client with no credentials."""
    client = APIClient()
    client.default_format = "json"
    return client

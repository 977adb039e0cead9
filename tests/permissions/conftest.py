"""One logged-in staff member per permission group, and the catalog of the admin tests to act on.

The groups come from the ``core`` data migration, which ran when the test database was built.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from core.permissions import ACCOUNT_EXECUTIVES, PRICING, SUPPORT
from tests.admin.conftest import Catalog, catalog  # noqa: F401  (the shared fixture, used by these tests too)

__all__ = ["Catalog"]


def _staff_client(group_name: str) -> Client:
    """A client logged in as a staff member (not a superuser) whose only permissions come from ``group_name``."""
    user = get_user_model().objects.create_user(username=group_name.lower().replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support_client(db: None) -> Client:
    return _staff_client(SUPPORT)


@pytest.fixture
def account_executive_client(db: None) -> Client:
    return _staff_client(ACCOUNT_EXECUTIVES)


@pytest.fixture
def pricing_client(db: None) -> Client:
    return _staff_client(PRICING)

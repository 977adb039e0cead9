"""The admin tests' catalog (a company holding 48 AI credits, a 1,000-credit bundle) and one client per group."""

from __future__ import annotations

from tests.admin.conftest import Catalog, catalog  # noqa: F401  (the shared fixture)
from tests.permissions.conftest import (  # noqa: F401  (the per-group clients)
    account_executive_client,
    pricing_client,
    support_client,
)

__all__ = ["Catalog"]

"""Announcing that a company or user changed: stale documents everywhere, and pushes to connected SDKs.

Every write service calls these inside its transaction. Documents: the version token is bumped now and after commit
(``core.versions``), so the next check anywhere recompiles. Datastream: after commit, every connection is told and
pushes the fresh document to its SDK (``entitlements.datastream``).
"""

from __future__ import annotations

from core.versions import versions_bump_on_commit
from entitlements.datastream import datastream_company_changed_on_commit
from entitlements.document_cache import company_version_name, user_version_name


def company_changed_on_commit(company_id: int) -> None:
    """The company's documents are stale from now on, and connected SDKs receive the new one after commit."""
    versions_bump_on_commit([company_version_name(company_id)])
    datastream_company_changed_on_commit(company_id)


def user_changed_on_commit(user_id: int) -> None:
    """The user's documents are stale from now on."""
    versions_bump_on_commit([user_version_name(user_id)])

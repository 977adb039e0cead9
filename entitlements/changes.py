"""Announcing that a company or user changed: stale documents everywhere, and pushes to connected SDKs.

Every write service calls these inside its transaction. Documents: the version token is bumped now and after commit
(``core.versions``), so the next check anywhere recompiles. Datastream: after commit, every connected SDK is told
(``entitlements.datastream.broadcast``): holders of the entity receive its new state, the others ignore it.
"""

from __future__ import annotations

import datetime as dt

from core.versions import versions_bump_on_commit
from entitlements.datastream.broadcast import push_on_commit
from entitlements.datastream.messages import company_document, user_document
from entitlements.documents.cache import company_version_name, user_version_name


def company_changed_on_commit(company_id: int, *, keys_removed: bool = False) -> None:
    """The company's documents are stale from now on, and connected SDKs receive the new one after commit.

    ``keys_removed``: a key of the company no longer identifies it; SDKs drop the company (a push cannot remove a
    key) and ask for it again on their next check.
    """
    versions_bump_on_commit([company_version_name(company_id)])
    push_on_commit("company", company_id, "rekeyed" if keys_removed else "document")


def company_deleting_on_commit(company_id: int, *, now: dt.datetime) -> None:
    """Call before deleting the company: after commit, SDKs drop it (a delete carries the complete last document)."""
    last = company_document(company_id, now=now)
    versions_bump_on_commit([company_version_name(company_id)])
    push_on_commit("company", company_id, "deleted", last)


def user_changed_on_commit(user_id: int, *, keys_removed: bool = False) -> None:
    """The user's documents are stale from now on, and connected SDKs receive the new one after commit."""
    versions_bump_on_commit([user_version_name(user_id)])
    push_on_commit("user", user_id, "rekeyed" if keys_removed else "document")


def user_deleting_on_commit(user_id: int) -> None:
    """Call before deleting the user: after commit, SDKs drop it (a delete carries the complete last document)."""
    last = user_document(user_id)
    versions_bump_on_commit([user_version_name(user_id)])
    push_on_commit("user", user_id, "deleted", last)

"""Keeping cached documents true: the subscribers that retire the version tokens a domain event made stale.

A change makes documents stale twice ("double delete", ``core.versions``): at emit, so the writer's own connection
(and a test, whose transaction never commits) reads fresh documents at once; and after commit, once per transaction
for every name it touched, which retires whatever a concurrent reader compiled from the database while the
transaction was open. Registered by ``EntitlementsConfig.ready()``, before the datastream's subscriber, so a push is
rendered from the new tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.events import CatalogChanged
from core.events import CompanyEvent, DomainEvent
from core.versions import CATALOG_VERSION, versions_bump_now
from entitlements.documents.cache import company_version_name, user_version_name
from entitlements.events import DOCUMENT_ASPECTS, UserChanged, UserDeleted

STALENESS_EVENTS = (CompanyEvent, UserChanged, UserDeleted, CatalogChanged)
"""The events that can make documents stale."""


def stale_version_names(events: Sequence[DomainEvent]) -> list[str]:
    """The version names the events make stale, each once, in a fixed order: a company event whose aspects its
    documents carry → its company; a user event → its user; a catalog change → the catalog (every document)."""
    names: set[str] = set()
    for event in events:
        if isinstance(event, CompanyEvent) and event.aspects() & DOCUMENT_ASPECTS:
            names.add(company_version_name(event.company_id))
        elif isinstance(event, UserChanged | UserDeleted):
            names.add(user_version_name(event.user_id))
        elif isinstance(event, CatalogChanged):
            names.add(CATALOG_VERSION)
    return sorted(names)


def documents_stale(events: Sequence[DomainEvent]) -> None:
    """Give every name the events make stale a new token (at emit, and again once the transaction commits)."""
    names = stale_version_names(events)
    if names:
        versions_bump_now(names)

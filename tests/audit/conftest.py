"""Fixtures for the audit-log tests: an admin actor and a view of the entries written since a mark."""

from __future__ import annotations

import pytest
from django.db.models import Max

from core.actors import Actor, ActorKind
from core.models import AuditEntry

ADMIN_ACTOR = Actor(kind=ActorKind.ADMIN, identifier="7", label="ada")


class AuditLog:
    """The audit entries written after the last ``mark()``, oldest first."""

    def __init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        self.since = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0

    def new(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(id__gt=self.since).order_by("id"))

    def one(self) -> AuditEntry:
        entries = self.new()
        assert len(entries) == 1, [str(entry) for entry in entries]
        return entries[0]


@pytest.fixture
def audit(db: None) -> AuditLog:
    """The audit log, marked now: ``audit.one()`` is the single entry written since."""
    return AuditLog()


@pytest.fixture
def actor() -> Actor:
    return ADMIN_ACTOR

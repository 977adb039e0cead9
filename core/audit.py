"""The audit log: every write service records one entry — actor, object, before → after, note — in its transaction.

Services state the intent (``action="override.granted"``, ``note="pilot for the Q4 deal"``); ``audit_snapshot``
captures the fields that matter as JSON on each side of the change, ``audit_changes`` keeps only what changed, and
``audit_entries_for_company`` reads one company's history.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from core.actors import Actor
from core.models import AuditEntry


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, models.Model):
        return getattr(value, "public_id", None) or getattr(value, "key", None) or str(value.pk)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json(v) for v in value]
    return value


def audit_snapshot(instance: models.Model | None, fields: Iterable[str]) -> dict[str, Any] | None:
    """The named fields of ``instance`` as JSON values (related objects by public id or key); ``None`` for none."""
    if instance is None:
        return None
    return {name: _json(getattr(instance, name)) for name in fields}


def audit_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose JSON value differs between two snapshots, as (before, after); both empty when nothing changed.

    A field missing on one side counts as ``None`` there.
    """
    old, new = _json(before or {}), _json(after or {})
    names = [name for name in {**old, **new} if old.get(name) != new.get(name)]
    return {name: old.get(name) for name in names}, {name: new.get(name) for name in names}


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    company_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one audit entry; call inside the service's transaction so it commits or rolls back with the change.

    ``target`` fills the type, public id and label unless they are given. ``company_id`` (a public id) files the entry
    under that company's history.
    """
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target_id or str(getattr(target, "public_id", "") or target.pk or "")
        target_label = target_label or str(target)
    return AuditEntry.objects.create(
        actor_kind=actor.kind.value,
        actor_id=actor.identifier[:64],
        actor_label=actor.label[:255],
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:255],
        company_id=company_id,
        before=_json(before),
        after=_json(after),
        note=note,
    )


def audit_entries_for_company(company_public_id: str, limit: int = 50) -> list[AuditEntry]:
    """The latest ``limit`` audit entries filed under the company with this public id, newest first."""
    if not company_public_id:
        return []
    return list(AuditEntry.objects.filter(company_id=company_public_id).order_by("-created_at", "-id")[:limit])


def audit_record_changes(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str = "",
    company_id: str = "",
) -> AuditEntry | None:
    """Record only the fields that changed between the two snapshots; nothing (``None``) when none did."""
    changed_before, changed_after = audit_changes(before, after)
    if not (changed_before or changed_after):
        return None
    return audit_record(
        actor=actor,
        action=action,
        target=target,
        company_id=company_id,
        before=changed_before,
        after=changed_after,
        note=note,
    )


# --- Finding companies from the audit log -------------------------------------------------------------------------
# Entries name their company by public id; ``core`` knows no company model, so the app that owns companies tells the
# audit log how to find them by name or key, and where a company's page is (``EntitlementsConfig.ready()``).


@dataclass(frozen=True, slots=True)
class AuditCompanyDirectory:
    """``search(term)``: the public ids of the companies whose name or a key matches ``term``; ``page_url(public_id)``:
    where people open that company."""

    search: Callable[[str], Iterable[str]]
    page_url: Callable[[str], str]


_company_directory: list[AuditCompanyDirectory] = []


def audit_company_directory_set(directory: AuditCompanyDirectory) -> None:
    """Tell the audit log how to find companies (once, at app start)."""
    _company_directory[:] = [directory]


def audit_company_directory() -> AuditCompanyDirectory | None:
    """How to find companies, if an app said so."""
    return _company_directory[0] if _company_directory else None

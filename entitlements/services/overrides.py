"""Granting, changing, revoking and expiring company overrides. Every write is audited and reaches checks at once."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.models import User as StaffUser
from django.db import transaction

from catalog.models import Feature
from core.actors import SYSTEM_ACTOR, Actor
from core.audit import audit_record, audit_snapshot
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import atomic_or_conflict
from entitlements.events import OverrideEvent, OverrideExpired, OverrideGranted, OverrideRevoked, OverrideUpdated
from entitlements.models import Company, CompanyOverride, OverrideReason, OverrideState
from entitlements.rules.overrides import override_month_reset_default, override_shape_errors, override_state_at
from entitlements.selectors import override_lapsed_q

logger = logging.getLogger(__name__)

_VALUE_FIELDS = ("value_type", "value", "allocation", "metric_period", "month_reset", "trait_key", "expires_at")
_AUDITED = (*_VALUE_FIELDS, "state", "reason", "note")


def _event(kind: type[OverrideEvent], override: CompanyOverride) -> OverrideEvent:
    return kind(company_id=override.company_id, override_id=override.pk, feature_id=override.feature_id)


def _end_locked(
    row: CompanyOverride,
    *,
    state: str,
    ended_at: dt.datetime | None,
    actor: Actor,
    note: str,
    kind: type[OverrideEvent],
) -> None:
    """End a locked override (``revoked`` or ``expired``) at ``ended_at``, with its audit entry and event."""
    before = audit_snapshot(row, _AUDITED)
    row.state, row.ended_at = state, ended_at
    row.save(update_fields=["state", "ended_at", "updated_at"])
    audit_record(
        actor=actor,
        action=f"override.{state}",
        target=row,
        company_id=row.company.public_id,
        before=before,
        after=audit_snapshot(row, _AUDITED),
        note=note,
    )
    event_emit(_event(kind, row))


def _expire_locked(row: CompanyOverride, *, actor: Actor = SYSTEM_ACTOR) -> None:
    """Mark a locked override whose expiry has come as expired at its expiry."""
    _end_locked(
        row,
        state=OverrideState.EXPIRED,
        ended_at=row.expires_at,
        actor=actor,
        note="Expired at its end date.",
        kind=OverrideExpired,
    )


def _validate(override: CompanyOverride, *, now: dt.datetime, check_expiry: bool) -> None:
    override.month_reset = override_month_reset_default(override.metric_period, override.month_reset)
    errors = override_shape_errors(
        feature_type=override.feature.feature_type,
        value_type=override.value_type,
        value=override.value,
        allocation=override.allocation,
        metric_period=override.metric_period,
        month_reset=override.month_reset,
        trait_key=override.trait_key or "",
    )
    if check_expiry and override.expires_at is not None and override.expires_at <= now:
        errors.setdefault("expires_at", []).append("The expiry must be in the future.")
    if not (override.note or "").strip():
        errors.setdefault("note", []).append("Say why this company gets an exception.")
    if override.reason and override.reason not in OverrideReason.values:
        choices = ", ".join(OverrideReason.values)
        errors.setdefault("reason", []).append(f"Unknown reason '{override.reason}': one of {choices}.")
    if errors:
        raise ValidationFailed("Invalid override: " + ", ".join(sorted(errors)), fields=errors)


def override_grant(
    *,
    actor: Actor,
    company: Company,
    feature: Feature,
    value_type: str,
    note: str,
    value: bool | None = None,
    allocation: int | None = None,
    metric_period: str | None = None,
    month_reset: str | None = None,
    trait_key: str = "",
    expires_at: dt.datetime | None = None,
    reason: str = "",
    granted_by: StaffUser | None = None,
    now: dt.datetime,
) -> CompanyOverride:
    """Grant ``company`` an exception for ``feature``, with a ``note`` and optionally a ``reason`` category
    (``OverrideReason``). ``ValidationFailed`` (nothing written) for an invalid shape, an expiry not in the future, a
    missing note, an unknown reason, or when an active override exists (change that one instead)."""
    override = CompanyOverride(
        company=company,
        feature=feature,
        feature_type=feature.feature_type,
        value_type=value_type,
        value=value,
        allocation=allocation,
        metric_period=metric_period or None,
        month_reset=month_reset or None,
        trait_key=trait_key or "",
        expires_at=expires_at,
        note=(note or "").strip(),
        reason=reason or "",
        granted_by=granted_by,
        granted_by_label=actor.label or str(actor),
    )
    _validate(override, now=now, check_expiry=True)
    with atomic_or_conflict():
        Company.objects.select_for_update().get(pk=company.pk)  # lock order: company, then its overrides
        # One that expired is gone, for this write as for checks: mark it now, in this transaction, as the job would.
        lapsed = CompanyOverride.objects.select_for_update().filter(
            override_lapsed_q(now), company=company, feature=feature
        )
        for row in lapsed.select_related("company"):
            _expire_locked(row)
        if CompanyOverride.objects.filter(company=company, feature=feature, state=OverrideState.ACTIVE).exists():
            raise ValidationFailed(
                f"'{company.name}' already has an active override for '{feature.key}'; change or revoke it.",
                field="feature",
            )
        override.save()
        audit_record(
            actor=actor,
            action="override.granted",
            target=override,
            company_id=company.public_id,
            after=audit_snapshot(override, _AUDITED),
            note=override.note,
        )
        event_emit(_event(OverrideGranted, override))
    logger.info("override granted", extra={"actor": str(actor), "override": override.public_id})
    return override


def override_update(
    *, actor: Actor, override: CompanyOverride, note: str = "", now: dt.datetime, **changes: Any
) -> CompanyOverride:
    """Change an active override's value or expiry (``note`` says why, and replaces the override's note if given)."""
    unknown = set(changes) - set(_VALUE_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: ["This field cannot be changed."] for name in unknown})
    with atomic_or_conflict():
        locked = CompanyOverride.objects.select_for_update().select_related("feature", "company").get(pk=override.pk)
        state = override_state_at(state=locked.state, expires_at=locked.expires_at, now=now)
        if state != OverrideState.ACTIVE:
            raise ValidationFailed(f"This override is {state}; grant a new one instead.", field="state")
        before = audit_snapshot(locked, _AUDITED)
        for name, value in changes.items():
            setattr(locked, name, value)
        if note.strip():
            locked.note = note.strip()
        _validate(locked, now=now, check_expiry="expires_at" in changes)
        locked.save()
        audit_record(
            actor=actor,
            action="override.updated",
            target=locked,
            company_id=locked.company.public_id,
            before=before,
            after=audit_snapshot(locked, _AUDITED),
            note=note.strip(),
        )
        event_emit(_event(OverrideUpdated, locked))
    logger.info("override updated", extra={"actor": str(actor), "override": locked.public_id})
    return locked


def override_revoke(*, actor: Actor, override: CompanyOverride, note: str = "", now: dt.datetime) -> CompanyOverride:
    """End an active override now; the plan's value applies again from the next check."""
    with atomic_or_conflict():
        locked = CompanyOverride.objects.select_for_update().select_related("company").get(pk=override.pk)
        state = override_state_at(state=locked.state, expires_at=locked.expires_at, now=now)
        if state != OverrideState.ACTIVE:
            raise ValidationFailed(f"This override is already {state}.", field="state")
        _end_locked(
            locked, state=OverrideState.REVOKED, ended_at=now, actor=actor, note=note.strip(), kind=OverrideRevoked
        )
    logger.info("override revoked", extra={"actor": str(actor), "override": locked.public_id})
    return locked


def overrides_expire_due(*, actor: Actor, now: dt.datetime) -> int:
    """Mark every active override whose expiry has passed as expired; returns how many. Idempotent and safe when two
    runs overlap: each due row is locked (skipping rows another run holds) and re-checked before it changes.

    Checks stopped applying the override at its expiry already (the compiler ignores expired overrides); this job
    makes the state and the audit log say so, and tells caches and connected clients.
    """
    expired = 0
    due = CompanyOverride.objects.filter(state=OverrideState.ACTIVE, expires_at__lte=now).order_by("pk")
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            row = (
                CompanyOverride.objects.select_for_update(skip_locked=True)
                .select_related("company")
                .filter(pk=pk, state=OverrideState.ACTIVE, expires_at__lte=now)
                .first()
            )
            if row is None:  # another run took it, or it was changed meanwhile
                continue
            _expire_locked(row, actor=actor)
            expired += 1
    if expired:
        logger.info("overrides expired", extra={"actor": str(actor), "count": expired})
    return expired

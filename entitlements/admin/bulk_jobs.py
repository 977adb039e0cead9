"""The bulk actions of the company and override lists, one item at a time: what one item does is written once here
and used by both paths: inline in the request for a small selection, and as an admin job (``core.admin_jobs``) for
one larger than ``ADMIN_BULK_INLINE_LIMIT``. Both call the same services with the staff member as the actor.

The job kinds are registered when this module is imported (by the admin modules that start them).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from catalog.models import Plan
from core.actors import Actor
from core.admin_job_kinds import AdminJobItemId, admin_job_actor, admin_job_kind
from core.errors import NotFound
from core.models import AdminJob
from entitlements.models import Company, CompanyOverride, OverrideState
from entitlements.rules.overrides import override_state_at
from entitlements.services.overrides import override_revoke
from entitlements.services.trials import subscription_start_trial

TRIAL_START_JOB = "entitlements.start_trial"
"""Start a plan's trial for each company; params ``{"plan_id": int, "note": str}``; items are company ids."""

OVERRIDE_REVOKE_JOB = "entitlements.revoke_override"
"""Revoke each override; params ``{"note": str}``; items are override ids."""


def trial_start_one(*, actor: Actor, company: Company, plan: Plan, note: str) -> str:
    """Put ``company`` on a trial of ``plan`` for the plan's trial days, starting now (``subscription_start_trial``,
    audited with ``note``); returns the outcome in words. Raises the service's domain errors."""
    subscription_start_trial(
        actor=actor, company=company, plan=plan, days=plan.trial_days, now=timezone.now(), note=note
    )
    return f"now trialing {plan.name}"


def override_revoke_one(*, actor: Actor, override: CompanyOverride, note: str) -> str:
    """Revoke ``override`` now (``override_revoke``, audited with ``note``); one no longer in force is left as it is,
    as the action's confirmation promised. Returns the outcome in words."""
    now = timezone.now()
    if override_state_at(state=override.state, expires_at=override.expires_at, now=now) != OverrideState.ACTIVE:
        return "no longer in force, left as is"
    override_revoke(actor=actor, override=override, note=note, now=now)
    return "revoked"


@admin_job_kind(TRIAL_START_JOB)
def _trial_start_item(job: AdminJob, item_id: AdminJobItemId, params: dict[str, Any]) -> str:
    # Read again here, not at selection: the company may have gone, the plan may have been deactivated meanwhile
    # (the service then refuses it in words).
    company = Company.objects.filter(pk=item_id).first()
    if company is None:
        raise NotFound(f"Company {item_id} no longer exists.")
    plan = Plan.objects.filter(pk=params["plan_id"]).first()
    if plan is None:
        raise NotFound("The plan of the trial no longer exists.")
    return trial_start_one(actor=admin_job_actor(job), company=company, plan=plan, note=params.get("note", ""))


@admin_job_kind(OVERRIDE_REVOKE_JOB)
def _override_revoke_item(job: AdminJob, item_id: AdminJobItemId, params: dict[str, Any]) -> str:
    override = CompanyOverride.objects.select_related("company", "feature").filter(pk=item_id).first()
    if override is None:  # its company was deleted meanwhile (overrides themselves are never deleted)
        raise NotFound(f"Override {item_id} no longer exists (its company was deleted).")
    return override_revoke_one(actor=admin_job_actor(job), override=override, note=params.get("note", ""))

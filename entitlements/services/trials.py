"""Trials: start one, move its end, and end those that are due — converting to paid or moving to the fallback plan.

Ending is a job (Celery beat, or ``manage.py run_periodic_jobs``) that is idempotent and safe when two runs overlap:
each due subscription is locked with ``SKIP LOCKED`` and re-checked before it changes, so it changes once. Usage
counters belong to the company, not the subscription, so they survive every plan change.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction

from catalog.models import Plan, PlanType
from catalog.selectors import plan_fallback_get
from core.actors import Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import atomic_or_conflict
from credits.models import GrantReason
from credits.services import credit_grants_expiry_move
from entitlements.engine.periods import add_months
from entitlements.events import SubscriptionChanged, TrialEnded, TrialEndMoved, TrialStarted
from entitlements.models import Company, Subscription, SubscriptionStatus
from entitlements.services.subscriptions import subscription_snapshot

logger = logging.getLogger(__name__)

MAX_TRIAL = dt.timedelta(days=366)


def _live_locked(company: Company) -> Subscription | None:
    return (
        Subscription.objects.select_for_update()
        .select_related("plan")
        .filter(company=company)
        .exclude(status=SubscriptionStatus.CANCELED)
        .first()
    )


def _trial_end(*, days: int | None, ends_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if (days is None) == (ends_at is None):
        message = "Give either days or ends_at, not both." if days is not None else "Give days or ends_at."
        raise ValidationFailed(message, fields={"days": [message], "ends_at": [message]})
    if days is not None:
        if days < 1 or days > MAX_TRIAL.days:
            raise ValidationFailed(f"A trial lasts 1 to {MAX_TRIAL.days} days.", field="days")
        return now + dt.timedelta(days=days)
    assert ends_at is not None
    if ends_at <= now:
        raise ValidationFailed("The trial end must be in the future.", field="ends_at")
    if ends_at - now > MAX_TRIAL:
        raise ValidationFailed(f"A trial lasts at most {MAX_TRIAL.days} days.", field="ends_at")
    return ends_at


def subscription_start_trial(
    *,
    actor: Actor,
    company: Company,
    plan: Plan,
    days: int | None = None,
    ends_at: dt.datetime | None = None,
    now: dt.datetime,
    note: str = "",
) -> Subscription:
    """Put the company on a trial of ``plan`` ending after ``days`` or at ``ends_at``; add-ons are kept."""
    if plan.plan_type != PlanType.BASE:
        raise ValidationFailed(f"'{plan.key}' is an add-on; trials are of base plans.", field="plan")
    if not plan.is_active:
        raise ValidationFailed(f"Plan '{plan.key}' is not active.", field="plan")
    trial_ends_at = _trial_end(days=days, ends_at=ends_at, now=now)
    with atomic_or_conflict():
        Company.objects.select_for_update().get(pk=company.pk)  # lock order: company, then its subscription
        live = _live_locked(company)
        before = subscription_snapshot(live)
        subscription = live or Subscription(company=company, current_period_start=now)
        subscription.plan = plan
        subscription.status = SubscriptionStatus.TRIALING
        subscription.trial_ends_at = trial_ends_at
        subscription.current_period_start = subscription.current_period_start or now
        subscription.current_period_end = max(subscription.current_period_end or trial_ends_at, trial_ends_at)
        subscription.save()
        audit_record(
            actor=actor,
            action="trial.started",
            target=subscription,
            company_id=company.public_id,
            before=before,
            after=subscription_snapshot(subscription),
            note=note,
        )
        event_emit(
            SubscriptionChanged(company_id=company.pk, before=before, after=subscription_snapshot(subscription)),
            TrialStarted(company_id=company.pk, plan_key=plan.key, ends_at=trial_ends_at.isoformat()),
        )
    logger.info("trial started", extra={"actor": str(actor), "company": company.public_id, "plan": plan.key})
    return subscription


def subscription_trial_end_change(
    *, actor: Actor, company: Company, ends_at: dt.datetime, now: dt.datetime, note: str = ""
) -> Subscription:
    """Extend or shorten the company's running trial to end at ``ends_at`` (in the future)."""
    trial_ends_at = _trial_end(days=None, ends_at=ends_at, now=now)
    with atomic_or_conflict():
        Company.objects.select_for_update().get(pk=company.pk)
        live = _live_locked(company)
        if live is None or live.status != SubscriptionStatus.TRIALING:
            raise ValidationFailed("This company is not on a trial.", field="ends_at")
        before = subscription_snapshot(live)
        extended = trial_ends_at > (live.trial_ends_at or now)
        period_end = live.current_period_end
        live.trial_ends_at = trial_ends_at
        live.current_period_end = max(live.current_period_end, trial_ends_at)
        live.save(update_fields=["trial_ends_at", "current_period_end", "updated_at"])
        if live.current_period_end != period_end:  # plan credits granted until the end of the period follow it
            credit_grants_expiry_move(
                actor=actor,
                company_id=company.pk,
                reason=GrantReason.PLAN,
                period_start=live.current_period_start,
                expires_at=period_end,
                new_expires_at=live.current_period_end,
                note="The trial was extended; the plan credits of its period last until its new end.",
            )
        audit_record(
            actor=actor,
            action="trial.extended" if extended else "trial.shortened",
            target=live,
            company_id=company.public_id,
            before=before,
            after=subscription_snapshot(live),
            note=note,
        )
        event_emit(
            SubscriptionChanged(company_id=company.pk, before=before, after=subscription_snapshot(live)),
            TrialEndMoved(company_id=company.pk, ends_at=trial_ends_at.isoformat(), extended=extended),
        )
    return live


@dataclass(frozen=True, slots=True)
class TrialsEnded:
    converted: int
    moved_to_fallback: int


def _end_one(subscription: Subscription, *, actor: Actor, now: dt.datetime) -> str:
    """Convert a due trial to paid (payment method on file) or end it onto the fallback plan; returns which."""
    company = subscription.company
    before = subscription_snapshot(subscription)
    ended_at = subscription.trial_ends_at or now
    if company.has_payment_method:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.current_period_start = ended_at
        subscription.current_period_end = add_months(ended_at, 1)
        subscription.save(update_fields=["status", "current_period_start", "current_period_end", "updated_at"])
        action, outcome = "trial.converted", "converted"
        after = subscription_snapshot(subscription)
    else:
        subscription.status, subscription.canceled_at = SubscriptionStatus.CANCELED, now
        subscription.save(update_fields=["status", "canceled_at", "updated_at"])
        fallback = plan_fallback_get()
        after = subscription_snapshot(subscription)
        if fallback is not None:
            Subscription.objects.create(
                company=company,
                plan=fallback,
                status=SubscriptionStatus.ACTIVE,
                current_period_start=ended_at,
                current_period_end=add_months(ended_at, 1),
            )
            after = {**(after or {}), "then_on_fallback_plan": fallback.key}
        action, outcome = "trial.ended", "moved_to_fallback"
    audit_record(
        actor=actor,
        action=action,
        target=subscription,
        company_id=company.public_id,
        before=before,
        after=after,
        note="Trial ended: "
        + ("payment method on file, now paid." if outcome == "converted" else "no payment method."),
    )
    event_emit(
        SubscriptionChanged(company_id=company.pk, before=before, after=after),
        TrialEnded(company_id=company.pk, outcome=outcome),
    )
    return outcome


def trials_end_due(*, actor: Actor, now: dt.datetime) -> TrialsEnded:
    """End every trial whose end has passed. Runs concurrently without doing anything twice."""
    counts = {"converted": 0, "moved_to_fallback": 0}
    due = Subscription.objects.filter(status=SubscriptionStatus.TRIALING, trial_ends_at__lte=now).order_by("pk")
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("company", "plan")
                .filter(pk=pk, status=SubscriptionStatus.TRIALING, trial_ends_at__lte=now)
                .first()
            )
            if subscription is None:  # another run holds it or has ended it
                continue
            counts[_end_one(subscription, actor=actor, now=now)] += 1
    if any(counts.values()):
        logger.info("trials ended", extra={"actor": str(actor), **counts})
    return TrialsEnded(**counts)

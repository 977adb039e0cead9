"""Putting companies on plans: the live subscription (base plan + add-ons), its status and its period."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from catalog.models import Plan, PlanType
from catalog.selectors import plan_fallback_get, plan_initial_get
from core.actors import Actor
from core.audit import audit_record, audit_snapshot
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import atomic_or_conflict
from entitlements.engine.periods import add_months
from entitlements.events import SubscriptionChanged
from entitlements.models import Company, Subscription, SubscriptionStatus

logger = logging.getLogger(__name__)


def _live(company: Company) -> Subscription | None:
    return (
        Subscription.objects.select_for_update()
        .filter(company=company)
        .exclude(status=SubscriptionStatus.CANCELED)
        .first()
    )


def _start(*, company: Company, plan: Plan, now: dt.datetime) -> Subscription:
    """A new live subscription on ``plan`` from ``now``, trialing if the plan has trial days."""
    trial_ends_at = now + dt.timedelta(days=plan.trial_days) if plan.trial_days else None
    return Subscription.objects.create(
        company=company,
        plan=plan,
        status=SubscriptionStatus.TRIALING if trial_ends_at else SubscriptionStatus.ACTIVE,
        trial_ends_at=trial_ends_at,
        current_period_start=now,
        current_period_end=add_months(now, 1),
    )


def subscription_start_initial(*, company: Company, now: dt.datetime) -> Subscription | None:
    """Put a new company on the catalog's initial plan; ``None`` when the catalog has no plan yet.

    Call inside the transaction that created the company.
    """
    plan = plan_initial_get()
    if plan is None:
        return None
    subscription = _start(company=company, plan=plan, now=now)
    event_emit(SubscriptionChanged(company_id=company.pk, before=None, after=subscription_snapshot(subscription)))
    return subscription


def subscription_snapshot(subscription: Subscription | None) -> dict[str, Any] | None:
    """The audited view of a subscription: plan, add-ons, status, trial end, period."""
    if subscription is None:
        return None
    snapshot = audit_snapshot(
        subscription, ("status", "trial_ends_at", "current_period_start", "current_period_end", "canceled_at")
    )
    add_ons = sorted(plan.key for plan in subscription.add_ons.all()) if subscription.pk else []
    return {"plan": subscription.plan.key, "add_ons": add_ons, **(snapshot or {})}


def _validate_plans(plan: Plan, add_ons: Sequence[Plan], live: Subscription | None) -> None:
    errors: dict[str, list[str]] = {}
    if plan.plan_type != PlanType.BASE:
        errors.setdefault("plan", []).append(f"'{plan.key}' is an add-on, not a base plan.")
    elif not plan.is_active and (live is None or live.plan_id != plan.pk):
        errors.setdefault("plan", []).append(f"Plan '{plan.key}' is not active and cannot be newly assigned.")
    held = set(live.add_ons.values_list("pk", flat=True)) if live is not None else set()
    seen: set[int] = set()
    for index, add_on in enumerate(add_ons):
        where = f"add_ons.{index}"
        if add_on.plan_type != PlanType.ADD_ON:
            errors.setdefault(where, []).append(f"'{add_on.key}' is a base plan, not an add-on.")
        elif not add_on.is_active and add_on.pk not in held:
            errors.setdefault(where, []).append(f"Add-on '{add_on.key}' is not active and cannot be newly added.")
        if add_on.pk in seen:
            errors.setdefault(where, []).append(f"Add-on '{add_on.key}' is listed twice.")
        seen.add(add_on.pk)
    if errors:
        raise ValidationFailed("Invalid plans: " + ", ".join(sorted(errors)), fields=errors)


def subscription_put(
    *,
    actor: Actor,
    company: Company,
    plan: Plan,
    add_ons: Sequence[Plan] = (),
    status: str = SubscriptionStatus.ACTIVE,
    trial_ends_at: dt.datetime | None = None,
    current_period_start: dt.datetime | None = None,
    current_period_end: dt.datetime | None = None,
    now: dt.datetime,
    note: str = "",
) -> Subscription:
    """Replace the company's live subscription with the one described (creating it if there is none).

    Omitted period bounds keep the live subscription's period, or start one at ``now`` lasting a month. A
    ``trialing`` status needs a trial end (defaulting to the plan's trial days). ``canceled`` ends the live
    subscription and, when the catalog has a fallback plan, starts a live one there. Returns the subscription written.
    """
    if status not in SubscriptionStatus.values:
        raise ValidationFailed(f"Unknown status '{status}'.", field="status")
    with atomic_or_conflict():
        Company.objects.select_for_update().get(pk=company.pk)  # lock order: company, then its subscriptions
        live = _live(company)
        _validate_plans(plan, add_ons, live)
        if status == SubscriptionStatus.TRIALING and trial_ends_at is None:
            if not plan.trial_days:
                raise ValidationFailed("A trialing subscription needs trial_ends_at.", field="trial_ends_at")
            trial_ends_at = now + dt.timedelta(days=plan.trial_days)
        start = current_period_start or (live.current_period_start if live else now)
        end = current_period_end or (live.current_period_end if live and not current_period_start else None)
        try:
            end = end or add_months(start, 1)
        except ValueError as error:  # a start in the last month of year 9999 has no representable end
            raise ValidationFailed(
                "The period start is too late to add a month.", field="current_period_start"
            ) from error
        if end <= start:
            raise ValidationFailed("The period must end after it starts.", field="current_period_end")
        before = subscription_snapshot(live)
        subscription = live or Subscription(company=company)
        subscription.plan = plan
        subscription.status = status
        subscription.trial_ends_at = trial_ends_at
        subscription.current_period_start = start
        subscription.current_period_end = end
        subscription.canceled_at = now if status == SubscriptionStatus.CANCELED else None
        subscription.save()
        subscription.add_ons.set(add_ons)
        after = subscription_snapshot(subscription)
        if status == SubscriptionStatus.CANCELED:
            fallback = plan_fallback_get()
            if fallback is not None:
                _start(company=company, plan=fallback, now=now)
                after = {**(after or {}), "then_on_fallback_plan": fallback.key}
        event_emit(SubscriptionChanged(company_id=company.pk, before=before, after=after))
        audit_record(
            actor=actor,
            action="subscription.created" if live is None else "subscription.updated",
            target=subscription,
            company_id=company.public_id,
            before=before,
            after=after,
            note=note,
        )
    logger.info(
        "subscription put",
        extra={"actor": str(actor), "company": company.public_id, "plan": plan.key, "status": status},
    )
    return subscription

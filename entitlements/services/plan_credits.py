"""Plans that include credits: grant each company its plan's credits at the start of every period, once.

A monthly plan grant follows the subscription's billing cycle (the anchor day of its current period); a yearly one,
the anniversary of it. The grant expires at the period's end, when the credits expiry job writes off what is left and
carries over the plan's rollover share into the next period. A database constraint (one plan grant per company, type,
plan and period start) makes a repeated or concurrent run grant nothing more.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction

from catalog.models import PlanCreditGrant, PriceInterval
from core.actors import Actor
from credits.amounts import credits_text
from credits.models import CreditGrant, GrantReason
from credits.services import credit_grant
from entitlements.engine.periods import add_months, window_reset_at, window_start
from entitlements.models import Subscription, SubscriptionAddOn, SubscriptionStatus

logger = logging.getLogger(__name__)


def _period(subscription: Subscription, interval: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The ``[start, end)`` of the plan-credit period containing ``now``."""
    anchor, anchor_end = subscription.current_period_start, subscription.current_period_end
    if interval == PriceInterval.YEAR:
        start = anchor
        while add_months(start, 12) <= now:
            start = add_months(start, 12)
        while start > now:
            start = add_months(start, -12)
        return start, add_months(start, 12)
    start = window_start("current_month", "billing_cycle", now, anchor, anchor_end) or anchor
    end = window_reset_at("current_month", "billing_cycle", now, anchor, anchor_end)
    if end is None or end <= now:  # the subscription period lapsed: keep going month by month from its anchor
        end = add_months(start, 1)
    return start, end


def plan_credits_grant_due(*, actor: Actor, now: dt.datetime) -> int:
    """Grant every live subscription's plan credits for the current period where not granted yet; returns how many."""
    live = list(Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).select_related("company", "plan"))
    plans_of: dict[int, set[int]] = defaultdict(set)
    for subscription in live:
        plans_of[subscription.pk].add(subscription.plan_id)
    for subscription_id, plan_id in SubscriptionAddOn.objects.filter(subscription__in=live).values_list(
        "subscription_id", "plan_id"
    ):
        plans_of[subscription_id].add(plan_id)
    included = PlanCreditGrant.objects.filter(plan_id__in={p for plans in plans_of.values() for p in plans})
    included = included.select_related("plan", "credit_type")
    granted = 0
    for subscription in sorted(live, key=lambda sub: sub.company_id):
        for rule in included:
            if rule.plan_id not in plans_of[subscription.pk]:
                continue
            start, end = _period(subscription, rule.interval, now)
            source = f"plan:{rule.plan.public_id}"
            already = CreditGrant.objects.filter(
                company_id=subscription.company_id,
                credit_type=rule.credit_type,
                reason=GrantReason.PLAN,
                source=source,
                period_start=start,
            )
            if already.exists():
                continue
            try:
                with transaction.atomic():
                    credit_grant(
                        actor=actor,
                        company_id=subscription.company_id,
                        credit_type=rule.credit_type,
                        quantity=rule.quantity,
                        reason=GrantReason.PLAN,
                        now=now,
                        valid_from=start,
                        expires_at=end,
                        source=source,
                        period_start=start,
                        rollover_percent=rule.rollover_percent,
                        rollover_lasts=end - start,
                        note=f"{rule.plan.name} includes {credits_text(rule.quantity)} a {rule.interval}.",
                    )
                granted += 1
            except IntegrityError:  # a concurrent run granted this period first
                continue
    if granted:
        logger.info("plan credits granted", extra={"actor": str(actor), "count": granted})
    return granted

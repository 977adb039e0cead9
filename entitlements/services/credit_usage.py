"""Usage of credit-metered features burns credits, in the transaction that records the usage.

A feature is credit-metered for a company when one of its plans (base or add-on) gives it a ``credit`` entitlement:
each unit of its tracked event costs ``consumption_rate`` credits of the entitlement's credit type. Where several
plans meter the same event, the lowest rate applies (the most generous, as with limits). Negative quantities
(corrections) lower the usage counters but neither burn nor refund credits: refunds are explicit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from catalog.models import CreditType, Entitlement, ValueType
from core.actors import Actor
from credits.services import credit_burn_many
from entitlements.models import Subscription, SubscriptionAddOn, SubscriptionStatus
from entitlements.services.usage import StoredUsageEvent


def _rates(company_ids: set[int], event_names: set[str]) -> dict[tuple[int, str], tuple[CreditType, Decimal]]:
    """For each (company, event) that burns credits: the credit type and the rate (two queries)."""
    plans_of: dict[int, set[int]] = defaultdict(set)
    live = Subscription.objects.filter(company_id__in=company_ids).exclude(status=SubscriptionStatus.CANCELED)
    for company_id, plan_id in live.values_list("company_id", "plan_id"):
        plans_of[company_id].add(plan_id)
    for company_id, plan_id in SubscriptionAddOn.objects.filter(subscription__in=live).values_list(
        "subscription__company_id", "plan_id"
    ):
        plans_of[company_id].add(plan_id)
    all_plans = {plan for plans in plans_of.values() for plan in plans}
    rows = Entitlement.objects.filter(
        plan_id__in=all_plans, value_type=ValueType.CREDIT, feature__event_name__in=event_names
    ).select_related("credit_type", "feature")
    rates: dict[tuple[int, str], tuple[CreditType, Decimal]] = {}
    for company_id, plans in plans_of.items():
        for row in rows:
            if row.plan_id not in plans or row.credit_type is None or row.consumption_rate is None:
                continue
            key = (company_id, row.feature.event_name)
            if key not in rates or row.consumption_rate < rates[key][1]:
                rates[key] = (row.credit_type, row.consumption_rate)
    return rates


def credit_usage_burn(stored: Sequence[StoredUsageEvent], *, actor: Actor, now: dt.datetime) -> None:
    """Burn the credits the stored track events cost, one ledger entry per event and grant touched.

    Accounts are locked in (company, credit type) order, so concurrent batches cannot deadlock.
    """
    metered = [row for row in stored if row.event.quantity > 0]
    if not metered:
        return
    rates = _rates({row.event.company_id for row in metered}, {row.event.event_name for row in metered})
    if not rates:
        return
    burns: dict[tuple[int, int], tuple[CreditType, list[tuple[int | None, Decimal]]]] = {}
    for row in metered:
        found = rates.get((row.event.company_id, row.event.event_name))
        if found is None:
            continue
        credit_type, rate = found
        _, amounts = burns.setdefault((row.event.company_id, credit_type.pk), (credit_type, []))
        amounts.append((row.id, rate * row.event.quantity))
    for (company_id, _), (credit_type, amounts) in sorted(burns.items()):
        credit_burn_many(
            actor=actor,
            company_id=company_id,
            credit_type=credit_type,
            burns=amounts,
            now=now,
            note="usage",
        )

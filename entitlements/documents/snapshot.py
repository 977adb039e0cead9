"""Fetching what a company's document is built from (``CompanySnapshot``): every query of a compile, and nothing else.

Thirteen queries for a company with a subscription: the company with its keys, traits, live subscription and its
add-ons (one prefetching read, five queries); its credit accounts, usable grants and totals (three); the plans'
entitlements; the active overrides; the current counters; the next grant start and expiry (two). A test pins the
count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from catalog.models import Entitlement, Feature, Plan, PlanType
from credits.selectors import credit_balances, credit_granted_totals, credit_next_change
from entitlements.documents.company_build import (
    CompanySnapshot,
    CreditFacts,
    FeatureFacts,
    FeatureGrant,
    SubscriptionFacts,
    TraitFacts,
)
from entitlements.documents.windows import COUNTER_WINDOWS, counter_window
from entitlements.documents.wire import rfc3339_seconds
from entitlements.models import (
    Company,
    CompanyOverride,
    CompanyTrait,
    OverrideState,
    Subscription,
    UsageCounter,
    UserTrait,
)
from entitlements.rules.effective import Grant
from entitlements.selectors import company_list, subscription_live_get


def _feature_facts(feature: Feature) -> FeatureFacts:
    return FeatureFacts(
        id=feature.pk,
        public_id=feature.public_id,
        key=feature.key,
        name=feature.name,
        feature_type=feature.feature_type,
        event_name=feature.event_name,
        trait_key=feature.trait_key,
    )


def trait_facts(trait: CompanyTrait | UserTrait) -> TraitFacts:
    """A stored trait value with its definition (loaded with it)."""
    definition = trait.definition
    return TraitFacts(
        definition_id=definition.public_id,
        key=definition.key,
        trait_type=definition.trait_type,
        entity_type=definition.entity_type,
        value=trait.value,
    )


def _subscription_facts(subscription: Subscription | None) -> SubscriptionFacts | None:
    if subscription is None:
        return None
    return SubscriptionFacts(
        public_id=subscription.public_id,
        plan_id=subscription.plan.public_id,
        plan_name=subscription.plan.name,
        add_on_ids=tuple(sorted(plan.public_id for plan in subscription.add_ons.all())),
        status=subscription.status,
        trial_ends_at=subscription.trial_ends_at,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
    )


def _value_fields(row: Entitlement | CompanyOverride) -> dict[str, Any]:
    """The fields plan entitlements and overrides share: what is granted, and how it is metered."""
    return {
        "value_type": row.value_type,
        "allocation": row.allocation,
        "metric_period": row.metric_period,
        "month_reset": row.month_reset,
        "trait_key": row.trait_key,
    }


def plan_grants_for(plans: Sequence[Plan]) -> tuple[FeatureGrant, ...]:
    """What these plans grant (the base plan first, then add-ons), in that order: for a live subscription, or for
    one a plan change would make (the plan-change preview)."""
    rows = Entitlement.objects.filter(plan__in=plans).select_related("feature", "plan", "credit_type")
    order = {plan.pk: index for index, plan in enumerate(plans)}
    return tuple(
        FeatureGrant(
            feature=_feature_facts(row.feature),
            grant=Grant(
                source_kind="plan" if row.plan.plan_type == PlanType.BASE else "add_on",
                source_id=row.plan.public_id,
                source_name=row.plan.name,
                entitlement_id=row.public_id,
                **_value_fields(row),
                soft_limit=row.soft_limit,
                credit_type_id=row.credit_type.public_id if row.credit_type else "",
                consumption_rate=float(row.consumption_rate) if row.consumption_rate is not None else None,
            ),
        )
        for row in sorted(rows, key=lambda row: order[row.plan_id])
    )


def _plan_grants(subscription: Subscription | None) -> tuple[FeatureGrant, ...]:
    """What the base plan and the add-ons grant, in plan order (the base plan, then add-ons by key)."""
    if subscription is None:
        return ()
    return plan_grants_for([subscription.plan, *sorted(subscription.add_ons.all(), key=lambda plan: plan.key)])


def override_grant_facts(row: CompanyOverride) -> FeatureGrant:
    """What one override grants, as documents carry it (``row`` may be unsaved: the grant preview builds one)."""
    return FeatureGrant(
        feature=_feature_facts(row.feature),
        grant=Grant(
            source_kind="override",
            source_id=row.public_id,
            source_name=f"Override by {row.granted_by_label}",
            entitlement_id=row.public_id,
            **_value_fields(row),
            soft_limit=None,
            value=row.value if row.value is not None else True,
            extra=(
                ("granted_by", row.granted_by_label),
                ("expires_at", rfc3339_seconds(row.expires_at) if row.expires_at else ""),
                ("note", row.note),
            ),
        ),
        expires_at=row.expires_at,
    )


def _overrides(company: Company) -> tuple[FeatureGrant, ...]:
    """The company's active overrides (those past their expiry included: the build decides by its instant)."""
    rows = CompanyOverride.objects.filter(company=company, state=OverrideState.ACTIVE).select_related("feature")
    return tuple(override_grant_facts(row) for row in rows)


def _counters(company: Company, now: dt.datetime, subscription: Subscription | None) -> dict[tuple[str, str, str], int]:
    """The value of every counter in the window current at ``now``."""
    windows = {
        (period, reset): counter_window(
            period,
            reset,
            now,
            period_start=subscription.current_period_start if subscription else None,
            period_end=subscription.current_period_end if subscription else None,
        )[0]
        for period, reset in COUNTER_WINDOWS
    }
    values: dict[tuple[str, str, str], int] = {}
    for row in UsageCounter.objects.filter(company=company, window_start__in=set(windows.values())):
        if windows.get((row.period, row.month_reset)) == row.window_start:
            values[(row.event_name, row.period, row.month_reset)] = row.value
    return values


def company_snapshot_fetch(*, company_id: int, now: dt.datetime) -> CompanySnapshot | None:
    """What the company's document is built from as of ``now``; ``None`` if the company does not exist."""
    company = company_list().filter(pk=company_id).first()  # with keys, traits and live subscription prefetched
    if company is None:
        return None
    subscription = subscription_live_get(company=company)  # prefetched: no query
    balances = credit_balances(company_id=company.pk, now=now)
    totals = credit_granted_totals(company_id=company.pk)
    return CompanySnapshot(
        public_id=company.public_id,
        keys={key.name: key.value for key in company.keys.all()},
        traits=tuple(trait_facts(trait) for trait in company.traits.all()),
        subscription=_subscription_facts(subscription),
        plan_grants=_plan_grants(subscription),
        overrides=_overrides(company),
        counters=_counters(company, now, subscription),
        credits=tuple(
            CreditFacts(
                credit_type_id=credit_type.public_id,
                balance=balance,
                granted_total=totals.get(credit_type.pk, Decimal(0)),
                overdraft_limit=credit_type.overdraft_limit,
            )
            for credit_type, balance in balances
        ),
        credit_next_change=credit_next_change(company_id=company.pk, now=now),
    )

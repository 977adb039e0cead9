"""Fetching what a company's document is built from (``CompanySnapshot``): every query of a compile, and nothing else.

Thirteen queries for a company with a subscription: the company with its keys, traits, live subscription and its
add-ons (one prefetching read, five queries); its credit accounts, usable grants and totals (three); the plans'
entitlements; the active overrides; the current counters; the next grant start and expiry (two). A test pins the
count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from catalog.models import Entitlement, Feature, Plan, PlanType
from credits.selectors import (
    credit_balances_by_company,
    credit_granted_totals_by_company,
    credit_next_change_by_company,
)
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


def _plan_grant(row: Entitlement) -> FeatureGrant:
    """What one plan entitlement grants, as documents carry it."""
    return FeatureGrant(
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


def _entitlements_by_plan(plan_ids: Iterable[int]) -> dict[int, list[Entitlement]]:
    """The entitlements of these plans, by plan id (one query)."""
    rows = Entitlement.objects.filter(plan_id__in=set(plan_ids)).select_related("feature", "plan", "credit_type")
    by_plan: dict[int, list[Entitlement]] = {}
    for row in rows:  # in the model's order, as each plan's grants always were
        by_plan.setdefault(row.plan_id, []).append(row)
    return by_plan


def _grants_of(plans: Sequence[Plan], by_plan: Mapping[int, list[Entitlement]]) -> tuple[FeatureGrant, ...]:
    return tuple(_plan_grant(row) for plan in plans for row in by_plan.get(plan.pk, []))


def plan_grants_for(plans: Sequence[Plan]) -> tuple[FeatureGrant, ...]:
    """What these plans grant (the base plan first, then add-ons), in that order: for a live subscription, or for
    one a plan change would make (the plan-change preview)."""
    return _grants_of(plans, _entitlements_by_plan(plan.pk for plan in plans))


def _subscription_plans(subscription: Subscription | None) -> list[Plan]:
    """The base plan, then the add-ons by key."""
    if subscription is None:
        return []
    return [subscription.plan, *sorted(subscription.add_ons.all(), key=lambda plan: plan.key)]


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


def _overrides_by_company(company_ids: Sequence[int]) -> dict[int, tuple[FeatureGrant, ...]]:
    """Each company's active overrides (those past their expiry included: the build decides by its instant)."""
    rows = CompanyOverride.objects.filter(company_id__in=company_ids, state=OverrideState.ACTIVE)
    by_company: dict[int, list[FeatureGrant]] = {}
    for row in rows.select_related("feature"):
        by_company.setdefault(row.company_id, []).append(override_grant_facts(row))
    return {company_id: tuple(grants) for company_id, grants in by_company.items()}


def _windows(now: dt.datetime, subscription: Subscription | None) -> dict[tuple[str, str], dt.datetime]:
    """The start of the window current at ``now`` of every (period, month reset)."""
    return {
        (period, reset): counter_window(
            period,
            reset,
            now,
            period_start=subscription.current_period_start if subscription else None,
            period_end=subscription.current_period_end if subscription else None,
        )[0]
        for period, reset in COUNTER_WINDOWS
    }


def _counters_by_company(
    windows: Mapping[int, dict[tuple[str, str], dt.datetime]],
) -> dict[int, dict[tuple[str, str, str], int]]:
    """The value of every counter in its company's current window (one query for all the companies)."""
    starts = {start for company_windows in windows.values() for start in company_windows.values()}
    rows = UsageCounter.objects.filter(company_id__in=list(windows), window_start__in=starts)
    values: dict[int, dict[tuple[str, str, str], int]] = {company_id: {} for company_id in windows}
    for row in rows:
        if windows[row.company_id].get((row.period, row.month_reset)) == row.window_start:
            values[row.company_id][(row.event_name, row.period, row.month_reset)] = row.value
    return values


def company_snapshot_fetch(*, company_id: int, now: dt.datetime) -> CompanySnapshot | None:
    """What the company's document is built from as of ``now``; ``None`` if the company does not exist."""
    return company_snapshots_fetch(company_ids=[company_id], now=now).get(company_id)


def company_snapshots_fetch(*, company_ids: Sequence[int], now: dt.datetime) -> dict[int, CompanySnapshot]:
    """``company_snapshot_fetch`` of each of these companies (absent: no such company), in the same thirteen queries
    whatever their number: a list of companies (the company list's cold page) compiles in one round of reads."""
    companies = list(company_list().filter(pk__in=company_ids))  # keys, traits, live subscription prefetched
    if not companies:
        return {}
    ids = [company.pk for company in companies]
    subscriptions = {company.pk: subscription_live_get(company=company) for company in companies}  # no query
    plans = {company_id: _subscription_plans(subscription) for company_id, subscription in subscriptions.items()}
    entitlements = _entitlements_by_plan(plan.pk for company_plans in plans.values() for plan in company_plans)
    balances = credit_balances_by_company(company_ids=ids, now=now)
    totals = credit_granted_totals_by_company(company_ids=ids)
    next_changes = credit_next_change_by_company(company_ids=ids, now=now)
    overrides = _overrides_by_company(ids)
    counters = _counters_by_company({pk: _windows(now, subscriptions[pk]) for pk in ids})
    return {
        company.pk: CompanySnapshot(
            public_id=company.public_id,
            keys={key.name: key.value for key in company.keys.all()},
            traits=tuple(trait_facts(trait) for trait in company.traits.all()),
            subscription=_subscription_facts(subscriptions[company.pk]),
            plan_grants=_grants_of(plans[company.pk], entitlements),
            overrides=overrides.get(company.pk, ()),
            counters=counters[company.pk],
            credits=tuple(
                CreditFacts(
                    credit_type_id=credit_type.public_id,
                    balance=balance,
                    granted_total=totals.get(company.pk, {}).get(credit_type.pk, Decimal(0)),
                    overdraft_limit=credit_type.overdraft_limit,
                )
                for credit_type, balance in balances.get(company.pk, [])
            ),
            credit_next_change=next_changes.get(company.pk),
        )
        for company in companies
    }

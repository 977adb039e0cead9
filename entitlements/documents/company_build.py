"""Building a company's document from a snapshot of its rows: a pure function of the snapshot and the instant.

``entitlements.documents.snapshot`` fetches the snapshot (the queries); this module turns it into the Company
document (PROTOCOL.md §4): keys, traits with their definitions, plan ids, base plan, subscription period, the current
metric counters, credit balances, entitlement summaries, and the company-specific rules carrying its *effective*
entitlement to each feature (``entitlements.rules.effective``) — plan-wide rules are never relied on, so an override
can lower a limit (PROTOCOL.md §5.5). Tests build snapshots from plain values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from catalog.models import FeatureType, MetricPeriod, MonthReset, ValueType
from entitlements.documents.windows import COUNTER_WINDOWS, counter_window
from entitlements.documents.wire import flag_id_for, rfc3339_seconds, rule_wire, scoped
from entitlements.models import SubscriptionStatus
from entitlements.rules.effective import Grant, grant_effective

# --- The snapshot ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureFacts:
    """What a document needs of a feature (``id`` is its internal id: rules are emitted in that order)."""

    id: int
    public_id: str
    key: str
    name: str
    feature_type: str
    event_name: str = ""
    trait_key: str = ""


@dataclass(frozen=True, slots=True)
class TraitFacts:
    """One trait value the company holds, with its definition (``definition_id`` is the public id)."""

    definition_id: str
    key: str
    trait_type: str
    entity_type: str
    value: str


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    """The live subscription: ids are public, ``add_on_ids`` sorted."""

    public_id: str
    plan_id: str
    plan_name: str
    add_on_ids: tuple[str, ...]
    status: str
    trial_ends_at: dt.datetime | None
    period_start: dt.datetime
    period_end: dt.datetime


@dataclass(frozen=True, slots=True)
class FeatureGrant:
    """What one plan (base or add-on) or one override grants for one feature."""

    feature: FeatureFacts
    grant: Grant
    expires_at: dt.datetime | None = None  # overrides only


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """One credit type the company holds (``credit_type_id`` is the public id)."""

    credit_type_id: str
    balance: Decimal
    granted_total: Decimal
    overdraft_limit: Decimal | None


@dataclass(frozen=True, slots=True)
class CompanySnapshot:
    """Everything a company's document is built from, as read at one instant.

    ``plan_grants`` are in plan order (the base plan, then add-ons by key); ``overrides`` are the active ones, some
    perhaps past their expiry at the instant of the build (the build drops those); ``counters`` are the values of
    the windows current at that instant, by (event, period, month reset); ``credit_next_change`` is when a grant
    next starts or expires.
    """

    public_id: str
    keys: dict[str, str]
    traits: tuple[TraitFacts, ...] = ()
    subscription: SubscriptionFacts | None = None
    plan_grants: tuple[FeatureGrant, ...] = ()
    overrides: tuple[FeatureGrant, ...] = ()
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    credits: tuple[CreditFacts, ...] = ()
    credit_next_change: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CompiledDocument:
    """A document, the instant it stops being true by itself (the next window boundary of its metrics), and the
    plan summary bulk checks answer with."""

    document: dict[str, Any]
    valid_until: dt.datetime | None
    plan: dict[str, Any] | None
    sources: dict[str, dict[str, str]]  # feature key → where its effective entitlement comes from


# --- Building ----------------------------------------------------------------------------------------------------


def trait_definition_wire(definition_id: str, trait_type: str, entity_type: str) -> dict[str, str]:
    """A trait definition as documents carry it."""
    return {"id": definition_id, "comparable_type": trait_type, "entity_type": entity_type}


def traits_wire(traits: tuple[TraitFacts, ...]) -> list[dict[str, Any]]:
    """Trait values as documents carry them."""
    return [
        {"trait_definition": trait_definition_wire(t.definition_id, t.trait_type, t.entity_type), "value": t.value}
        for t in traits
    ]


def _condition(condition_id: str, condition_type: str, operator: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": condition_id,
        "condition_type": condition_type,
        "operator": operator,
        "resource_ids": [],
        "trait_value": "",
        "trait_definition": None,
        "comparison_trait_definition": None,
        "event_subtype": None,
        "metric_value": None,
        "metric_period": None,
        "metric_period_month_reset": None,
        "credit_id": None,
        "consumption_rate": None,
    }
    base.update(fields)
    return scoped(**base)


@dataclass(frozen=True, slots=True)
class _Context:
    """What rule building needs to know about the company besides the grant."""

    now: dt.datetime
    subscription: SubscriptionFacts | None
    company_traits: dict[str, TraitFacts]  # trait key (lower-case) → the value held
    counters: dict[tuple[str, str, str], int]  # (event, period, reset) → current window's value
    credit_balances: dict[str, float] = field(default_factory=dict)  # credit type public id → effective balance
    credit_totals: dict[str, float] = field(default_factory=dict)  # credit type public id → ever granted


def _trait_reference(context: _Context, key: str) -> dict[str, str]:
    """A company trait definition by key; an id that matches nothing when the trait was never reported (reads 0)."""
    found = context.company_traits.get(key.lower())
    if found is not None:
        return trait_definition_wire(found.definition_id, found.trait_type, found.entity_type)
    return {"id": f"trait_undeclared_{key}", "comparable_type": "int", "entity_type": "company"}


def _trait_int(context: _Context, key: str) -> int:
    found = context.company_traits.get(key.lower())
    try:
        return int(found.value) if found else 0
    except ValueError:
        return 0


def _limit_condition(
    feature: FeatureFacts, grant: Grant, context: _Context, condition_id: str
) -> dict[str, Any] | None:
    """The condition that holds while usage is under the limit (or the balance covers a unit); ``None`` when the
    grant has no limit."""
    if grant.value_type == ValueType.CREDIT:
        # "lt" is the granting direction of a credit condition (PROTOCOL.md §5.2.5: gt/gte invert it).
        return _condition(
            condition_id,
            "credit",
            "lt",
            credit_id=grant.credit_type_id,
            consumption_rate=grant.consumption_rate,
            event_subtype=feature.event_name,
        )
    if grant.value_type not in (ValueType.NUMERIC, ValueType.TRAIT):
        return None
    limit_trait = _trait_reference(context, grant.trait_key) if grant.value_type == ValueType.TRAIT else None
    allocation = grant.allocation if grant.value_type == ValueType.NUMERIC else _trait_int(context, grant.trait_key)
    if feature.feature_type == FeatureType.EVENT:
        return _condition(
            condition_id,
            "metric",
            "lt",
            event_subtype=feature.event_name,
            metric_value=allocation,
            metric_period=grant.metric_period,
            metric_period_month_reset=grant.month_reset or MonthReset.FIRST_OF_MONTH,
            comparison_trait_definition=limit_trait,
        )
    return _condition(
        condition_id,
        "trait",
        "lt",
        trait_definition=_trait_reference(context, feature.trait_key),
        trait_value=str(allocation),
        comparison_trait_definition=limit_trait,
    )


def _rules_for(feature: FeatureFacts, grant: Grant, context: _Context) -> list[dict[str, Any]]:
    """The company rules for one feature: granted while under the limit, refused (``…usage_exceeded``) beyond it.

    Plan grants become ``plan_entitlement`` rules, overrides ``company_override`` rules, so reasons say which.
    """
    flag_id = flag_id_for(feature.public_id)
    suffix = grant.entitlement_id.split("_", 1)[1]
    name = f"{grant.source_name}: {feature.name}"
    kind = "company_override" if grant.source_kind == "override" else "plan_entitlement"
    limit = _limit_condition(feature, grant, context, f"cond_{suffix}")
    rules = [
        rule_wire(
            rule_id=f"rule_{suffix}",
            flag_id=flag_id,
            rule_type=kind,
            name=name,
            value=grant.value,
            conditions=[limit] if limit else [],
        )
    ]
    if limit is not None:
        rules.append(
            rule_wire(
                rule_id=f"rule_{suffix}_exceeded",
                flag_id=flag_id,
                rule_type=f"{kind}_usage_exceeded",
                name=f"{name} (limit reached)",
                value=False,
                conditions=[],
            )
        )
    return rules


def _window(period: str, reset: str, context: _Context) -> tuple[dt.datetime, dt.datetime | None]:
    sub = context.subscription
    return counter_window(
        period,
        reset,
        context.now,
        period_start=sub.period_start if sub else None,
        period_end=sub.period_end if sub else None,
    )


def _summary(feature: FeatureFacts, grant: Grant, context: _Context) -> dict[str, Any]:
    """The FeatureEntitlement the engine echoes in results (PROTOCOL.md §4.9)."""
    allocation = grant.allocation if grant.value_type == ValueType.NUMERIC else None
    if grant.value_type == ValueType.TRAIT:
        allocation = _trait_int(context, grant.trait_key)
    summary: dict[str, Any] = {
        "feature_id": feature.public_id,
        "feature_key": feature.key,
        "value_type": grant.value_type,
        "allocation": allocation,
        "soft_limit": grant.soft_limit,
        "usage": None,
        "event_name": None,
        "metric_period": None,
        "month_reset": None,
        "metric_reset_at": None,
    }
    if grant.value_type == ValueType.CREDIT:
        balance = context.credit_balances.get(grant.credit_type_id, 0.0)
        total = context.credit_totals.get(grant.credit_type_id, 0.0)
        summary.update(
            credit_id=grant.credit_type_id,
            consumption_rate=grant.consumption_rate,
            credit_remaining=balance,
            credit_total=total,
            credit_used=max(0.0, total - balance),
            event_name=feature.event_name,
        )
        return summary
    if feature.feature_type == FeatureType.EVENT and grant.value_type != ValueType.BOOLEAN:
        period = grant.metric_period or MetricPeriod.ALL_TIME
        reset = grant.month_reset or MonthReset.FIRST_OF_MONTH
        _, reset_at = _window(period, reset, context)
        summary.update(
            usage=context.counters.get((feature.event_name, period, reset), 0),
            event_name=feature.event_name,
            metric_period=period,
            month_reset=reset,
            metric_reset_at=rfc3339_seconds(reset_at) if reset_at else None,
        )
    elif feature.feature_type == FeatureType.TRAIT:
        summary["usage"] = _trait_int(context, feature.trait_key)
    return summary


def _earliest(*instants: dt.datetime | None) -> dt.datetime | None:
    present = [instant for instant in instants if instant is not None]
    return min(present) if present else None


def _plan_summary(subscription: SubscriptionFacts | None) -> dict[str, Any] | None:
    if subscription is None:
        return None
    trialing = subscription.status == SubscriptionStatus.TRIALING
    return {
        "id": subscription.plan_id,
        "name": subscription.plan_name,
        "trial_end_date": rfc3339_seconds(subscription.trial_ends_at) if subscription.trial_ends_at else None,
        "trial_status": ("active" if trialing else "converted") if subscription.trial_ends_at else None,
    }


def company_document_build(snapshot: CompanySnapshot, *, now: dt.datetime) -> CompiledDocument:
    """The Company document of ``snapshot`` as of ``now`` (the instant the snapshot was read at), with the instant
    it stops being true by itself: the first of its counter windows to end, a credit grant starting or expiring, or
    an override expiring. No queries."""
    subscription = snapshot.subscription
    context = _Context(
        now=now,
        subscription=subscription,
        counters=snapshot.counters,
        company_traits={trait.key.lower(): trait for trait in snapshot.traits},
        credit_balances={credit.credit_type_id: float(credit.balance) for credit in snapshot.credits},
        credit_totals={credit.credit_type_id: float(credit.granted_total) for credit in snapshot.credits},
    )
    # A billing-cycle window whose subscription period has lapsed "ends" in the past; it cannot bound the document.
    window_ends = [
        end for period, reset in COUNTER_WINDOWS if (end := _window(period, reset, context)[1]) and end > now
    ]
    valid_until = _earliest(min(window_ends) if window_ends else None, snapshot.credit_next_change)
    trait_values = {key: _trait_int(context, key) for key in context.company_traits}
    plan_grants: dict[int, list[FeatureGrant]] = {}
    for granted in snapshot.plan_grants:
        plan_grants.setdefault(granted.feature.id, []).append(granted)
    # An override applies no more from its expiry instant on, whether or not the expiry job has run.
    overrides = {
        granted.feature.id: granted
        for granted in snapshot.overrides
        if granted.expires_at is None or granted.expires_at > now
    }
    rules: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    sources: dict[str, dict[str, str]] = {}
    event_names: set[str] = set()
    trialing = subscription is not None and subscription.status == SubscriptionStatus.TRIALING
    for feature_id in sorted(set(plan_grants) | set(overrides)):
        feature = plan_grants[feature_id][0].feature if feature_id in plan_grants else overrides[feature_id].feature
        override = overrides[feature_id].grant if feature_id in overrides else None
        grant = grant_effective(
            [granted.grant for granted in plan_grants.get(feature_id, [])], override, trait_values=trait_values
        )
        rules.extend(_rules_for(feature, grant, context))
        summaries.append(_summary(feature, grant, context))
        kind = "trial" if trialing and grant.source_kind == "plan" else grant.source_kind
        sources[feature.key] = {"kind": kind, "id": grant.source_id, "name": grant.source_name, **dict(grant.extra)}
        if feature.feature_type == FeatureType.EVENT:
            event_names.add(feature.event_name)
    expiries = [granted.expires_at for granted in overrides.values() if granted.expires_at is not None]
    if expiries:  # the document stops being true when the first override expires
        valid_until = _earliest(min(expiries), valid_until)
    event_names.update(event for event, _, _ in snapshot.counters)
    metrics = [
        scoped(
            company_id=snapshot.public_id,
            event_subtype=event,
            period=period,
            month_reset=reset,
            value=snapshot.counters.get((event, period, reset), 0),
            created_at=rfc3339_seconds(_window(period, reset, context)[0]),
            valid_until=rfc3339_seconds(end) if (end := _window(period, reset, context)[1]) else None,
        )
        for event in sorted(event_names)
        for period, reset in COUNTER_WINDOWS
    ]
    document = scoped(
        id=snapshot.public_id,
        keys=dict(snapshot.keys),
        plan_ids=[subscription.plan_id, *subscription.add_on_ids] if subscription else [],
        plan_version_ids=[],
        billing_product_ids=[],
        base_plan_id=subscription.plan_id if subscription else None,
        credit_balances=context.credit_balances,
        credit_postpaid={
            credit.credit_type_id: {"overdraft_limit": float(credit.overdraft_limit)}
            for credit in snapshot.credits
            if credit.overdraft_limit
        }
        or None,
        metrics=metrics,
        traits=traits_wire(snapshot.traits),
        rules=rules,
        entitlements=summaries,
        subscription=(
            {
                "id": subscription.public_id,
                "period_start": rfc3339_seconds(subscription.period_start),
                "period_end": rfc3339_seconds(subscription.period_end),
            }
            if subscription
            else None
        ),
    )
    return CompiledDocument(
        document=document, valid_until=valid_until, plan=_plan_summary(subscription), sources=sources
    )

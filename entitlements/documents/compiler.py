"""The one bridge from ORM rows to rules-engine documents (PROTOCOL.md §4), in the wire format the SDKs validate.

* one **Flag** per feature: default ``false``; a kill switch becomes a ``global_override`` rule;
* one **Company** document per company: keys, traits with their definitions, plan ids, base plan, subscription period,
  the current metric counters, entitlement summaries, and the company-specific rules carrying its *effective*
  entitlement to each feature (``entitlements.rules.effective``) — plan-wide rules are never relied on, so an override
  can lower a limit (PROTOCOL.md §5.5);
* one **User** document per user.

Compilation is a pure read; callers cache the result under version tokens (``entitlements.documents.cache``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from catalog.models import Entitlement, Feature, FeatureType, MetricPeriod, MonthReset, PlanType, ValueType
from credits.selectors import credit_balances, credit_granted_totals, credit_next_change
from entitlements.engine.periods import window_reset_at, window_start
from entitlements.models import (
    Company,
    CompanyOverride,
    CompanyTrait,
    OverrideState,
    Subscription,
    SubscriptionStatus,
    TraitDefinition,
    UsageCounter,
    User,
    UserTrait,
)
from entitlements.rules.effective import Grant, grant_effective

ACCOUNT_ID = "acct_self_hosted"
ENVIRONMENT_ID = "env_default"
ALL_TIME_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Every window a counter is kept for, whatever the plans use today, so that a plan change finds its counter ready.
COUNTER_WINDOWS: tuple[tuple[str, str], ...] = (
    (MetricPeriod.CURRENT_DAY, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_WEEK, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_MONTH, MonthReset.FIRST_OF_MONTH),
    (MetricPeriod.CURRENT_MONTH, MonthReset.BILLING_CYCLE),
    (MetricPeriod.ALL_TIME, MonthReset.FIRST_OF_MONTH),
)


def rfc3339_seconds(moment: dt.datetime) -> str:
    """``2025-01-31T00:00:00Z``: the only timestamp form the engine's billing-cycle maths accepts."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flag_id_for(feature_public_id: str) -> str:
    """The flag id of a feature (``feat_X`` → ``flag_X``)."""
    return "flag_" + feature_public_id.split("_", 1)[1]


def _scoped(**fields: Any) -> dict[str, Any]:
    return {**fields, "account_id": ACCOUNT_ID, "environment_id": ENVIRONMENT_ID}


# --- Flags -------------------------------------------------------------------------------------------------------


def _rule(
    *, rule_id: str, flag_id: str, rule_type: str, name: str, value: bool, conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    return _scoped(
        id=rule_id,
        flag_id=flag_id,
        rule_type=rule_type,
        name=name,
        priority=0,
        value=value,
        conditions=conditions,
        condition_groups=[],
    )


def flag_document(feature: Feature) -> dict[str, Any]:
    """The Flag document of one feature."""
    flag_id = flag_id_for(feature.public_id)
    rules = []
    if feature.forced_value is not None:
        state = "on" if feature.forced_value else "off"
        rules.append(
            _rule(
                rule_id="rule_kill_" + feature.public_id.split("_", 1)[1],
                flag_id=flag_id,
                rule_type="global_override",
                name=f"Kill switch: {feature.name} forced {state}",
                value=feature.forced_value,
                conditions=[],
            )
        )
    return _scoped(id=flag_id, key=feature.key, default_value=False, rules=rules)


def flags_compile() -> list[dict[str, Any]]:
    """Every feature's Flag document, ordered by key."""
    return [flag_document(feature) for feature in Feature.objects.order_by("key")]


# --- Companies ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledDocument:
    """A document, the instant it stops being true by itself (the next window boundary of its metrics), and the
    plan summary bulk checks answer with."""

    document: dict[str, Any]
    valid_until: dt.datetime | None
    plan: dict[str, Any] | None
    sources: dict[str, dict[str, str]]  # feature key → where its effective entitlement comes from


def _trait_definition_wire(definition: TraitDefinition) -> dict[str, str]:
    return {"id": definition.public_id, "comparable_type": definition.trait_type, "entity_type": definition.entity_type}


def _traits_wire(traits: list[CompanyTrait] | list[UserTrait]) -> list[dict[str, Any]]:
    return [{"trait_definition": _trait_definition_wire(t.definition), "value": t.value} for t in traits]


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
    return _scoped(**base)


@dataclass(frozen=True, slots=True)
class _Context:
    """What rule building needs to know about the company besides the grant."""

    now: dt.datetime
    subscription: Subscription | None
    company_traits: dict[str, tuple[TraitDefinition, str]]  # trait key (lower-case) → (definition, stored value)
    counters: dict[tuple[str, str, str], int]  # (event, period, reset) → current window's value
    credit_balances: dict[str, float] = field(default_factory=dict)  # credit type public id → effective balance
    credit_totals: dict[str, float] = field(default_factory=dict)  # credit type public id → ever granted


def _trait_reference(context: _Context, key: str) -> dict[str, str]:
    """A company trait definition by key; an id that matches nothing when the trait was never reported (reads 0)."""
    found = context.company_traits.get(key.lower())
    if found is not None:
        return _trait_definition_wire(found[0])
    return {"id": f"trait_undeclared_{key}", "comparable_type": "int", "entity_type": "company"}


def _trait_int(context: _Context, key: str) -> int:
    found = context.company_traits.get(key.lower())
    try:
        return int(found[1]) if found else 0
    except ValueError:
        return 0


def _limit_condition(feature: Feature, grant: Grant, context: _Context, condition_id: str) -> dict[str, Any] | None:
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


def _rules_for(feature: Feature, grant: Grant, context: _Context) -> list[dict[str, Any]]:
    """The company rules for one feature: granted while under the limit, refused (``…usage_exceeded``) beyond it.

    Plan grants become ``plan_entitlement`` rules, overrides ``company_override`` rules, so reasons say which.
    """
    flag_id = flag_id_for(feature.public_id)
    suffix = grant.entitlement_id.split("_", 1)[1]
    name = f"{grant.source_name}: {feature.name}"
    kind = "company_override" if grant.source_kind == "override" else "plan_entitlement"
    limit = _limit_condition(feature, grant, context, f"cond_{suffix}")
    rules = [
        _rule(
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
            _rule(
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
    start = window_start(
        period, reset, context.now, sub.current_period_start if sub else None, sub.current_period_end if sub else None
    )
    end = window_reset_at(
        period, reset, context.now, sub.current_period_start if sub else None, sub.current_period_end if sub else None
    )
    return (start or ALL_TIME_START), end


def _summary(feature: Feature, grant: Grant, context: _Context) -> dict[str, Any]:
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


def _override_grants(company: Company, now: dt.datetime) -> dict[int, tuple[Feature, Grant, CompanyOverride]]:
    """The company's overrides that apply at ``now`` (active and not yet past their expiry), by feature id."""
    rows = CompanyOverride.objects.filter(company=company, state=OverrideState.ACTIVE).select_related("feature")
    grants = {}
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            continue  # applies no more from its expiry instant on, whether or not the expiry job has run
        grant = Grant(
            source_kind="override",
            source_id=row.public_id,
            source_name=f"Override by {row.granted_by_label}",
            entitlement_id=row.public_id,
            value_type=row.value_type,
            allocation=row.allocation,
            metric_period=row.metric_period,
            month_reset=row.month_reset,
            trait_key=row.trait_key,
            soft_limit=None,
            value=row.value if row.value is not None else True,
            extra=(
                ("granted_by", row.granted_by_label),
                ("expires_at", rfc3339_seconds(row.expires_at) if row.expires_at else ""),
                ("note", row.note),
            ),
        )
        grants[row.feature_id] = (row.feature, grant, row)
    return grants


def _grants_by_feature(subscription: Subscription | None) -> dict[int, list[tuple[Feature, Grant]]]:
    if subscription is None:
        return {}
    plans = [subscription.plan, *sorted(subscription.add_ons.all(), key=lambda plan: plan.key)]
    rows = Entitlement.objects.filter(plan__in=plans).select_related("feature", "plan", "credit_type")
    order = {plan.pk: index for index, plan in enumerate(plans)}
    grants: dict[int, list[tuple[Feature, Grant]]] = {}
    for row in sorted(rows, key=lambda row: order[row.plan_id]):
        grant = Grant(
            source_kind="plan" if row.plan.plan_type == PlanType.BASE else "add_on",
            source_id=row.plan.public_id,
            source_name=row.plan.name,
            entitlement_id=row.public_id,
            value_type=row.value_type,
            allocation=row.allocation,
            metric_period=row.metric_period,
            month_reset=row.month_reset,
            trait_key=row.trait_key,
            soft_limit=row.soft_limit,
            credit_type_id=row.credit_type.public_id if row.credit_type else "",
            consumption_rate=float(row.consumption_rate) if row.consumption_rate is not None else None,
        )
        grants.setdefault(row.feature_id, []).append((row.feature, grant))
    return grants


def _counters(
    company: Company, context_now: dt.datetime, subscription: Subscription | None
) -> tuple[dict[tuple[str, str, str], int], dt.datetime | None]:
    """The current window's value of every counter, and the earliest instant one of those windows ends."""
    probe = _Context(now=context_now, subscription=subscription, company_traits={}, counters={})
    windows = {(period, reset): _window(period, reset, probe) for period, reset in COUNTER_WINDOWS}
    starts = {start for start, _ in windows.values()}
    values: dict[tuple[str, str, str], int] = {}
    for row in UsageCounter.objects.filter(company=company, window_start__in=starts):
        if windows.get((row.period, row.month_reset), (None,))[0] == row.window_start:
            values[(row.event_name, row.period, row.month_reset)] = row.value
    # A billing-cycle window whose subscription period has lapsed "ends" in the past; it cannot bound the document.
    ends = [end for _, end in windows.values() if end is not None and end > context_now]
    return values, (min(ends) if ends else None)


def company_document_compile(*, company_id: int, now: dt.datetime) -> CompiledDocument | None:
    """The Company document as of ``now``; ``None`` if the company does not exist."""
    company = (
        Company.objects.filter(pk=company_id)
        .prefetch_related(
            "keys",
            Prefetch("traits", queryset=CompanyTrait.objects.select_related("definition")),
            Prefetch(
                "subscriptions",
                queryset=Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
                .select_related("plan")
                .prefetch_related("add_ons"),
                to_attr="live_subscriptions",
            ),
        )
        .first()
    )
    if company is None:
        return None
    subscription = company.live_subscriptions[0] if company.live_subscriptions else None
    traits = list(company.traits.all())
    counters, valid_until = _counters(company, now, subscription)
    balances = credit_balances(company_id=company.pk, now=now)
    totals = credit_granted_totals(company_id=company.pk)
    context = _Context(
        now=now,
        subscription=subscription,
        counters=counters,
        company_traits={t.definition.key.lower(): (t.definition, t.value) for t in traits},
        credit_balances={credit_type.public_id: float(balance) for credit_type, balance in balances},
        credit_totals={credit_type.public_id: float(totals.get(credit_type.pk, 0)) for credit_type, _ in balances},
    )
    credit_change = credit_next_change(company_id=company.pk, now=now)
    if credit_change is not None:  # a grant starts or expires: the balance changes without any write
        valid_until = min(valid_until, credit_change) if valid_until else credit_change
    rules: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    sources: dict[str, dict[str, str]] = {}
    event_names: set[str] = set()
    trialing = subscription is not None and subscription.status == SubscriptionStatus.TRIALING
    plan_grants = _grants_by_feature(subscription)
    overrides = _override_grants(company, now)
    for feature_id in sorted(set(plan_grants) | set(overrides)):
        feature = plan_grants[feature_id][0][0] if feature_id in plan_grants else overrides[feature_id][0]
        override = overrides[feature_id][1] if feature_id in overrides else None
        grant = grant_effective(
            [grant for _, grant in plan_grants.get(feature_id, [])], override, trait_values=_trait_ints(context)
        )
        rules.extend(_rules_for(feature, grant, context))
        summaries.append(_summary(feature, grant, context))
        kind = "trial" if trialing and grant.source_kind == "plan" else grant.source_kind
        sources[feature.key] = {"kind": kind, "id": grant.source_id, "name": grant.source_name, **dict(grant.extra)}
        if feature.feature_type == FeatureType.EVENT:
            event_names.add(feature.event_name)
    expiries = [row.expires_at for _, _, row in overrides.values() if row.expires_at is not None]
    if expiries:  # the document stops being true when the first override expires
        valid_until = min([*expiries, valid_until]) if valid_until else min(expiries)
    event_names.update(event for event, _, _ in counters)
    metrics = [
        _scoped(
            company_id=company.public_id,
            event_subtype=event,
            period=period,
            month_reset=reset,
            value=counters.get((event, period, reset), 0),
            created_at=rfc3339_seconds(_window(period, reset, context)[0]),
            valid_until=rfc3339_seconds(end) if (end := _window(period, reset, context)[1]) else None,
        )
        for event in sorted(event_names)
        for period, reset in COUNTER_WINDOWS
    ]
    plan_ids = (
        [subscription.plan.public_id, *sorted(p.public_id for p in subscription.add_ons.all())] if subscription else []
    )
    document = _scoped(
        id=company.public_id,
        keys={key.name: key.value for key in company.keys.all()},
        plan_ids=plan_ids,
        plan_version_ids=[],
        billing_product_ids=[],
        base_plan_id=subscription.plan.public_id if subscription else None,
        credit_balances=context.credit_balances,
        credit_postpaid={
            credit_type.public_id: {"overdraft_limit": float(credit_type.overdraft_limit)}
            for credit_type, _ in balances
            if credit_type.overdraft_limit
        }
        or None,
        metrics=metrics,
        traits=_traits_wire(traits),
        rules=rules,
        entitlements=summaries,
        subscription=(
            {
                "id": subscription.public_id,
                "period_start": rfc3339_seconds(subscription.current_period_start),
                "period_end": rfc3339_seconds(subscription.current_period_end),
            }
            if subscription
            else None
        ),
    )
    plan = None
    if subscription is not None:
        trialing = subscription.status == SubscriptionStatus.TRIALING
        plan = {
            "id": subscription.plan.public_id,
            "name": subscription.plan.name,
            "trial_end_date": rfc3339_seconds(subscription.trial_ends_at) if subscription.trial_ends_at else None,
            "trial_status": ("active" if trialing else "converted") if subscription.trial_ends_at else None,
        }
    return CompiledDocument(document=document, valid_until=valid_until, plan=plan, sources=sources)


def _trait_ints(context: _Context) -> dict[str, int]:
    return {key: _trait_int(context, key) for key in context.company_traits}


def user_document_compile(*, user_id: int) -> dict[str, Any] | None:
    """The User document; ``None`` if the user does not exist."""
    user = (
        User.objects.filter(pk=user_id)
        .prefetch_related("keys", Prefetch("traits", queryset=UserTrait.objects.select_related("definition")))
        .first()
    )
    if user is None:
        return None
    return _scoped(
        id=user.public_id,
        keys={key.name: key.value for key in user.keys.all()},
        traits=_traits_wire(list(user.traits.all())),
        rules=[],
    )

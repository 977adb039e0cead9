"""Why a check decided as it did: every rule tried, in order, and for each condition the inputs it read.

Only built when ``evaluate(..., trace=True)`` asks for it (and, internally, to find which spend policy refused a draw).
The step types hold plain values (strings, numbers, tuples) so that another module can render them as prose.
Condition ``outcome`` codes: ``matched``, ``not_matched``, ``skipped`` (not evaluated: an earlier condition decided the
rule, or the rule type matches unconditionally), ``no_company``, ``no_user``, ``no_trait_definition``,
``no_event_subtype``, ``no_credit_id``, ``unknown_condition_type``, and ``rule_failed_no_metric_value`` (a metric
condition without ``metric_value``: the engine then fails the whole rule, even when the condition sits in a group).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from entitlements.engine.conditions import (
    CHECKS,
    compare_texts,
    metric_limit,
    metric_preflight,
    metric_reset_at,
    trait_operands,
)
from entitlements.engine.credits import (
    blocking_policy,
    credit_cost,
    inverts,
    is_balance_sufficient,
    overdraft_allowance,
)
from entitlements.engine.model import (
    KIND_BASE_PLAN,
    KIND_BILLING_PRODUCT,
    KIND_COMPANY,
    KIND_CREDIT,
    KIND_METRIC,
    KIND_PLAN,
    KIND_PLAN_VERSION,
    KIND_TRAIT,
    KIND_UNKNOWN,
    KIND_USER,
    Company,
    Condition,
    Options,
    Rule,
    SpendPolicy,
    User,
)
from entitlements.engine.values import compare_number, wrap_int64
from entitlements.engine.wire import rfc3339_with_fraction


@dataclass(frozen=True, slots=True)
class IdSetInputs:
    """A company/user/plan/plan_version/billing_product/base_plan condition: the listed ids and the context's."""

    resource_ids: tuple[str, ...]
    subject: str
    subject_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MetricInputs:
    """A metric condition: ``value_read`` (0 when no row) plus ``preflight_added`` gives ``compared_value``."""

    event_subtype: str | None
    period: str
    month_reset: str
    row_found: bool
    value_read: int
    preflight_added: int
    compared_value: int
    limit: int | None
    limit_source: str
    comparison_trait_id: str | None
    window_reset_at: str | None


@dataclass(frozen=True, slots=True)
class TraitInputs:
    """A trait condition: the raw strings compared, as ``comparable_type`` (the found trait's type, else the
    condition's); ``preflight_added`` is the usage added to an ``int`` left side."""

    definition_id: str
    entity_type: str
    comparable_type: str
    trait_found: bool
    left: str
    right: str
    right_source: str
    comparison_trait_id: str | None
    preflight_added: int


@dataclass(frozen=True, slots=True)
class CreditInputs:
    """A credit condition: balance (+ overdraft; ``None`` allowance = no floor) against the priced cost, then the
    spend-policy verdict (``none``: no policy applies, ``allowed``, ``blocked``); ``inverted`` for ``gt``/``gte``."""

    credit_id: str | None
    balance: float
    is_postpaid: bool
    overdraft_allowance: float | None
    consumption_rate: float
    cost: float
    cost_source: str
    balance_sufficient: bool
    spend_policy_verdict: str
    spend_policy_id: str | None
    inverted: bool


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    """One condition's verdict; ``group_index`` is ``None`` for a top-level condition. Exactly one of the input
    blocks is set for an evaluated condition of a known type."""

    condition_id: str
    condition_type: str
    operator: str
    group_index: int | None
    evaluated: bool
    matched: bool
    outcome: str
    id_set: IdSetInputs | None = None
    metric: MetricInputs | None = None
    trait: TraitInputs | None = None
    credit: CreditInputs | None = None


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One rule tried; ``source`` is ``flag``, ``company`` or ``user``."""

    rule_id: str
    rule_name: str
    rule_type: str
    source: str
    priority: int
    value: bool
    is_unconditional: bool
    matched: bool
    conditions: tuple[ConditionTrace, ...]


Refusal = tuple[SpendPolicy, float]
"""A spend policy that refused a draw, with the draw's cost."""


@dataclass(frozen=True, slots=True)
class RuleTrail:
    """What ``trace_rules`` found: the steps, the winning rule, and the spend-policy refusals met on the way (the
    first of the whole check, and the first within the winning rule)."""

    steps: tuple[TraceStep, ...]
    winner: Rule | None
    first_refusal: Refusal | None
    winner_refusal: Refusal | None


@dataclass(slots=True)
class _Context:
    """One traced check: its inputs and the refusals met so far."""

    company: Company | None
    user: User | None
    options: Options | None
    now: dt.datetime
    first_refusal: Refusal | None = None
    rule_refusal: Refusal | None = None


_RULE_FAILED = "rule_failed_no_metric_value"
_ID_SUBJECTS = {
    KIND_COMPANY: "company_id",
    KIND_PLAN: "plan_ids",
    KIND_PLAN_VERSION: "plan_version_ids",
    KIND_BILLING_PRODUCT: "billing_product_ids",
    KIND_BASE_PLAN: "base_plan_id",
}


def _verdict(
    condition: Condition,
    group: int | None,
    matched: bool,
    outcome: str | None = None,
    *,
    id_set: IdSetInputs | None = None,
    metric: MetricInputs | None = None,
    trait: TraitInputs | None = None,
    credit: CreditInputs | None = None,
) -> ConditionTrace:
    """A trace for an evaluated condition."""
    return ConditionTrace(
        condition.id,
        condition.condition_type,
        condition.operator,
        group,
        True,
        matched,
        outcome or ("matched" if matched else "not_matched"),
        id_set,
        metric,
        trait,
        credit,
    )


def _held_ids(kind: int, company: Company | None, user: User | None) -> tuple[str, tuple[str, ...] | None]:
    """Which context field an id-set condition reads, and its ids (``None`` when the entity is absent)."""
    if kind == KIND_USER:
        return "user_id", None if user is None else (user.id,)
    subject = _ID_SUBJECTS[kind]
    if company is None:
        return subject, None
    if kind == KIND_COMPANY:
        return subject, (company.id,)
    if kind == KIND_BASE_PLAN:
        return subject, () if company.base_plan_id is None else (company.base_plan_id,)
    held = {KIND_PLAN: company.plan_ids, KIND_PLAN_VERSION: company.plan_version_ids}.get(kind)
    return subject, tuple(sorted(company.billing_product_ids if held is None else held))


def _explain_id_set(condition: Condition, group: int | None, context: _Context) -> ConditionTrace:
    """Explain a company/user/plan/plan_version/billing_product/base_plan condition."""
    subject, held = _held_ids(condition.kind, context.company, context.user)
    if held is None:
        return _verdict(condition, group, False, "no_user" if condition.kind == KIND_USER else "no_company")
    matched = CHECKS[condition.kind](condition, context.company, context.user, context.options)
    return _verdict(condition, group, matched, id_set=IdSetInputs(condition.resource_ids, subject, held))


def _explain_metric(condition: Condition, group: int | None, context: _Context) -> ConditionTrace:
    """Explain a metric condition."""
    company = context.company
    if company is None:
        return _verdict(condition, group, False, "no_company")
    if condition.metric_key is None:
        return _verdict(condition, group, False, "no_event_subtype")
    row_found = condition.metric_key in company.metrics
    value_read = company.metrics.get(condition.metric_key, 0)
    added = metric_preflight(context.options, condition.event_subtype)
    compared = wrap_int64(value_read + added) if added else value_read
    limit = metric_limit(condition, company) if condition.metric_value is not None else None
    reset_at = metric_reset_at(condition, company, context.now)
    inputs = MetricInputs(
        condition.event_subtype,
        condition.metric_period,
        condition.metric_month_reset,
        row_found,
        value_read,
        added,
        compared,
        limit,
        "metric_value" if condition.comparison_trait_definition is None else "trait",
        None if condition.comparison_trait_definition is None else condition.comparison_trait_definition.id,
        None if reset_at is None else rfc3339_with_fraction(reset_at),
    )
    if limit is None:
        return _verdict(condition, group, False, _RULE_FAILED, metric=inputs)
    return _verdict(condition, group, compare_number(condition.operator, compared, limit), metric=inputs)


def _explain_trait(condition: Condition, group: int | None, context: _Context) -> ConditionTrace:
    """Explain a trait condition."""
    definition = condition.trait_definition
    if definition is None:
        return _verdict(condition, group, False, "no_trait_definition")
    operands = trait_operands(condition, context.company, context.user)
    if operands is None:
        return _verdict(condition, group, False, "no_company" if definition.entity_type == "company" else "no_user")
    comparable_type, left, right, trait = operands
    usage = context.options.usage if context.options is not None else 0
    matched = compare_texts(comparable_type, condition.operator, left, right, usage)
    comparison = condition.comparison_trait_definition
    inputs = TraitInputs(
        definition.id,
        definition.entity_type,
        comparable_type,
        trait is not None,
        left.raw,
        right.raw,
        "trait_value" if comparison is None else "comparison_trait",
        None if comparison is None else comparison.id,
        usage if comparable_type == "int" and usage > 0 else 0,
    )
    return _verdict(condition, group, matched, trait=inputs)


def _explain_credit(condition: Condition, group: int | None, context: _Context) -> ConditionTrace:
    """Explain a credit condition, recording a spend-policy refusal in the context."""
    company, credit_id = context.company, condition.credit_id
    if company is None:
        return _verdict(condition, group, False, "no_company")
    if credit_id is None:
        return _verdict(condition, group, False, "no_credit_id")
    cost, cost_source = credit_cost(condition, context.options)
    balance_ok = is_balance_sufficient(company, condition, cost, cost_source)
    blocking = blocking_policy(company, context.user, credit_id, cost)
    policies = [*company.spend_policies, *(context.user.spend_policies if context.user else ())]
    if blocking is not None:
        verdict = "blocked"
        if context.first_refusal is None:
            context.first_refusal = (blocking, cost)
        if context.rule_refusal is None:
            context.rule_refusal = (blocking, cost)
    else:
        verdict = "allowed" if any(policy.credit_id == credit_id for policy in policies) else "none"
    sufficient = balance_ok and blocking is None
    is_postpaid, allowance = overdraft_allowance(company, credit_id)
    matched = not sufficient if inverts(condition.operator) else sufficient
    inputs = CreditInputs(
        credit_id,
        company.credit_balances.get(credit_id, 0.0),
        is_postpaid,
        allowance,
        condition.consumption_rate,
        cost,
        cost_source,
        balance_ok,
        verdict,
        None if blocking is None else blocking.id,
        inverts(condition.operator),
    )
    return _verdict(condition, group, matched, credit=inputs)


def _explain(condition: Condition, group: int | None, context: _Context) -> ConditionTrace:
    """Explain any condition."""
    kind = condition.kind
    if kind == KIND_METRIC:
        return _explain_metric(condition, group, context)
    if kind == KIND_TRAIT:
        return _explain_trait(condition, group, context)
    if kind == KIND_CREDIT:
        return _explain_credit(condition, group, context)
    if kind == KIND_UNKNOWN:
        return _verdict(condition, group, False, "unknown_condition_type")
    return _explain_id_set(condition, group, context)


def _skipped(condition: Condition, group: int | None) -> ConditionTrace:
    """A trace for a condition that was not evaluated."""
    return ConditionTrace(condition.id, condition.condition_type, condition.operator, group, False, False, "skipped")


def _trace_rule(rule: Rule, context: _Context) -> TraceStep:
    """Explain one rule with the fast path's short-circuiting."""
    traces: list[ConditionTrace] = []
    matched = True
    if rule.is_unconditional:
        traces.extend(_skipped(condition, None) for condition in rule.conditions)
        for index, group in enumerate(rule.condition_groups):
            traces.extend(_skipped(condition, index) for condition in group)
    else:
        for condition in rule.conditions:
            trace = _explain(condition, None, context) if matched else _skipped(condition, None)
            traces.append(trace)
            matched = matched and trace.matched
        for index, group in enumerate(rule.condition_groups):
            group_matched = False
            for condition in group:
                if matched and not group_matched:
                    trace = _explain(condition, index, context)
                    group_matched = trace.matched
                    if trace.outcome == _RULE_FAILED:
                        matched = False
                else:
                    trace = _skipped(condition, index)
                traces.append(trace)
            matched = matched and group_matched
    return TraceStep(
        rule.id,
        rule.name,
        rule.rule_type,
        rule.source,
        rule.priority,
        rule.value,
        rule.is_unconditional,
        matched,
        tuple(traces),
    )


def trace_rules(
    rules: Sequence[Rule], company: Company | None, user: User | None, options: Options | None, now: dt.datetime
) -> RuleTrail:
    """Try ``rules`` in order exactly as the fast path does, explaining each, up to the first match."""
    context = _Context(company, user, options, now)
    steps: list[TraceStep] = []
    for rule in rules:
        context.rule_refusal = None
        step = _trace_rule(rule, context)
        steps.append(step)
        if step.matched:
            return RuleTrail(tuple(steps), rule, context.first_refusal, context.rule_refusal)
    return RuleTrail(tuple(steps), None, context.first_refusal, None)

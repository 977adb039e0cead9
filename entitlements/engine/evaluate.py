"""Flag evaluation (PROTOCOL.md §5.1): order the candidate rules, take the first that matches, shape the result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from entitlements.engine.conditions import CHECKS, RuleFailed, metric_reset_at, usage_figures
from entitlements.engine.model import KIND_METRIC, Company, Flag, Options, Rule, User
from entitlements.engine.result import NO_RULES_MATCHED, CheckResult, SpendPolicyBlock
from entitlements.engine.trace import RuleTrail, TraceStep, trace_rules
from entitlements.engine.wire import spend_policy_reason

_ORDER_KEY = attrgetter("order_key")


def ordered_rules(flag: Flag, company: Company | None, user: User | None) -> Sequence[Rule]:
    """The check's candidate rules in evaluation order.

    Candidates are the flag's rules plus the company's and user's rules whose ``flag_id`` is the flag's. Each source is
    already sorted by ``Rule.order_key`` (type rank, then priority for ``standard`` or value-true-first for the
    optimistic types); the sources are merged by a stable sort, so equal keys keep flag → company → user order
    (VERIFIED on Schematic's engine). With a single source no sorting happens at all.
    """
    rules: Sequence[Rule] = flag.rules
    if company is not None:
        company_rules = company.rules_by_flag.get(flag.id)
        if company_rules:
            rules = sorted((*rules, *company_rules), key=_ORDER_KEY) if rules else company_rules
    if user is not None:
        user_rules = user.rules_by_flag.get(flag.id)
        if user_rules:
            rules = sorted((*rules, *user_rules), key=_ORDER_KEY) if rules else user_rules
    return rules


def rule_matches(rule: Rule, company: Company | None, user: User | None, options: Options | None) -> bool:
    """Every condition matches and every group has a matching condition (short-circuiting, in document order;
    conditions before groups). A ``RuleFailed`` condition fails the rule outright."""
    try:
        for condition in rule.conditions:
            if not CHECKS[condition.kind](condition, company, user, options):
                return False
        for group in rule.condition_groups:
            for condition in group:
                if CHECKS[condition.kind](condition, company, user, options):
                    break
            else:
                return False
    except RuleFailed:
        return False
    return True


def _matched_result(
    rule: Rule,
    flag: Flag,
    company: Company | None,
    user: User | None,
    now: dt.datetime,
    entitlement: Mapping[str, Any] | None,
    trace: tuple[TraceStep, ...] | None,
) -> CheckResult:
    """The result for a winning rule; an optimistic rule's first metric/trait condition reports usage and allocation
    (un-simulated: a preflight changes the decision, never the figures)."""
    condition = rule.usage_condition
    company_id = None if company is None else company.id
    user_id = None if user is None else user.id
    figures = None if condition is None else usage_figures(condition, company)
    if figures is None:
        return CheckResult(
            rule.value,
            rule.reason,
            flag.key,
            flag.id,
            company_id,
            user_id,
            rule.id,
            rule.rule_type,
            entitlement,
            trace=trace,
        )
    assert condition is not None and company is not None  # figures need both
    usage, allocation = figures
    event = period = reset_at = None
    if condition.kind == KIND_METRIC:
        event, period, reset_at = (
            condition.event_subtype,
            condition.metric_period,
            metric_reset_at(condition, company, now),
        )
    return CheckResult(
        rule.value,
        rule.reason,
        flag.key,
        flag.id,
        company_id,
        user_id,
        rule.id,
        rule.rule_type,
        entitlement,
        allocation,
        usage,
        event,
        period,
        reset_at,
        trace=trace,
    )


def _default_result(
    flag: Flag,
    company: Company | None,
    user: User | None,
    entitlement: Mapping[str, Any] | None,
    trace: tuple[TraceStep, ...] | None,
) -> CheckResult:
    """No rule matched: the flag default."""
    return CheckResult(
        flag.default_value,
        NO_RULES_MATCHED,
        flag.key,
        flag.id,
        None if company is None else company.id,
        None if user is None else user.id,
        entitlement=entitlement,
        trace=trace,
    )


_USAGE_EXCEEDED_TYPES = frozenset({"company_override_usage_exceeded", "plan_entitlement_usage_exceeded"})


def _may_report_refusal(result: CheckResult) -> bool:
    """Only a ``false`` answer from the default (no match or a ``default`` rule) or from a usage-exceeded rule can be
    explained by a spend policy's refusal (§5.2.7; the exact cases are VERIFIED on Schematic's engine)."""
    return not result.value and (
        result.rule_type is None or result.rule_type == "default" or result.rule_type in _USAGE_EXCEEDED_TYPES
    )


def _report_refusal(result: CheckResult, trail: RuleTrail) -> CheckResult:
    """Replace the reason with the refusal: for a usage-exceeded winner the first refusal within that rule, for a
    default outcome the first refusal of the whole check."""
    if not _may_report_refusal(result):
        return result
    refusal = trail.winner_refusal if result.rule_type in _USAGE_EXCEEDED_TYPES else trail.first_refusal
    if refusal is not None:
        policy, cost = refusal
        result.reason = spend_policy_reason(policy, cost)
        result.credit_spend_policy = SpendPolicyBlock(cost, policy)
    return result


def evaluate(
    flag: Flag,
    company: Company | None,
    user: User | None,
    options: Options | None,
    *,
    now: dt.datetime,
    trace: bool = False,
) -> CheckResult:
    """Check ``flag`` for the company and user (either may be absent) with an optional preflight, as of ``now``
    (timezone-aware; it only dates ``feature_usage_reset_at``). Pure: reads nothing else, changes nothing.

    ``trace=True`` also records every rule tried and why (``CheckResult.trace``); the decision is the same.
    A preflight with a negative quantity or credit cost answers the flag default with ``err`` set, as the engine does.
    Malformed documents never get here: ``prepare_*`` refuses them with ``DocumentError`` (an ``EngineError``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if options is not None and options.error is not None:
        return CheckResult(
            flag.default_value,
            NO_RULES_MATCHED,
            flag.key,
            flag.id,
            None if company is None else company.id,
            None if user is None else user.id,
            err=options.error,
            trace=() if trace else None,
        )
    entitlement = company.entitlements_by_key.get(flag.key) if company is not None else None
    rules = ordered_rules(flag, company, user)
    if trace:
        trail = trace_rules(rules, company, user, options, now)
        if trail.winner is None:
            return _report_refusal(_default_result(flag, company, user, entitlement, trail.steps), trail)
        return _report_refusal(_matched_result(trail.winner, flag, company, user, now, entitlement, trail.steps), trail)
    for rule in rules:
        if rule.is_unconditional or rule_matches(rule, company, user, options):
            result = _matched_result(rule, flag, company, user, now, entitlement, None)
            break
    else:
        result = _default_result(flag, company, user, entitlement, None)
    if (
        _may_report_refusal(result)
        and company is not None
        and (company.spend_policies or (user is not None and user.spend_policies))
    ):
        # Rare: replay the check with explanations to learn which policy refused a draw, if any did.
        result = _report_refusal(result, trace_rules(rules, company, user, options, now))
    return result

"""The engine's decision and trace in plain words, for account executives and support.

"Pro gives 1,000 AI generations per month; 1,000 used; blocked until 1 Dec 00:00 UTC." Pure formatting: no queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from catalog.models import Feature
from entitlements import engine

_PERIOD_WORDS = {
    "current_day": "per day",
    "current_week": "per week",
    "current_month": "per month",
    "all_time": "in total",
}
_OPERATOR_WORDS = {
    "eq": "equals",
    "ne": "differs from",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "is_empty": "is empty",
    "not_empty": "is not empty",
}
_RULE_WORDS = {
    "global_override": "kill switch",
    "company_override": "company override",
    "plan_entitlement": "plan entitlement",
    "company_override_usage_exceeded": "override limit reached",
    "plan_entitlement_usage_exceeded": "plan limit reached",
    "standard": "targeting rule",
    "default": "default rule",
}


def when(moment: dt.datetime) -> str:
    """``1 Dec 00:00 UTC``."""
    utc = moment.astimezone(dt.UTC)
    return f"{utc.day} {utc:%b %H:%M} UTC"


def _units(feature: Feature, amount: int | None) -> str:
    unit = feature.unit_singular if amount == 1 else feature.unit_plural
    return unit or feature.name


def summary_line(
    *,
    feature: Feature,
    result: engine.CheckResult,
    entitlement: Mapping[str, Any],
    source: Mapping[str, str],
    now: dt.datetime,
) -> str:
    """One sentence: who grants what, what is used, and whether the feature is available now."""
    if result.rule_type == "global_override":
        return f"Kill switch: {feature.name} is forced {'on' if result.value else 'off'} for everyone."
    if source.get("kind") == "default":
        return f"No plan of this company includes {feature.name}; off."
    granted_by = source.get("name", "")
    trial = " (trial)" if source.get("kind") == "trial" else ""
    value_type = entitlement.get("value_type")
    if value_type == "boolean":
        return f"{granted_by}{trial} includes {feature.name}; {'on' if result.value else 'off'}."
    period = _PERIOD_WORDS.get(entitlement.get("metric_period") or "", "")
    if value_type == "unlimited":
        usage = entitlement.get("usage")
        used = f"; {usage:,} used {period}".rstrip() if usage is not None else ""
        return f"{granted_by}{trial} gives unlimited {_units(feature, None)}{used}; allowed."
    allocation, usage = entitlement.get("allocation"), entitlement.get("usage") or 0
    limit = f"{allocation:,} {_units(feature, allocation)} {period}".rstrip() if allocation is not None else "a limit"
    state = "allowed"
    if not result.value:
        reset_text = entitlement.get("metric_reset_at")
        reset = dt.datetime.fromisoformat(reset_text.replace("Z", "+00:00")) if reset_text else None
        state = f"blocked until {when(reset)}" if reset and reset > now else "blocked"
    return f"{granted_by}{trial} gives {limit}; {usage:,} used; {state}."


def _condition_words(condition: engine.ConditionTrace) -> str:
    operator = _OPERATOR_WORDS.get(condition.operator, condition.operator)
    verdict = "yes" if condition.matched else "no"
    if condition.metric is not None:
        metric = condition.metric
        preflight = f" (+{metric.preflight_added} asked for)" if metric.preflight_added else ""
        reset = f", window resets {metric.window_reset_at}" if metric.window_reset_at else ""
        return (
            f"usage of '{metric.event_subtype}' {_PERIOD_WORDS.get(metric.period, metric.period)}: "
            f"{metric.value_read}{preflight} {operator} {metric.limit} ({metric.limit_source}{reset}) → {verdict}"
        )
    if condition.trait is not None:
        trait = condition.trait
        left = repr(trait.left) if trait.trait_found else "not set"
        return f"{trait.entity_type} trait {trait.definition_id} = {left} {operator} {trait.right!r} → {verdict}"
    if condition.credit is not None:
        credit = condition.credit
        covers = "covers" if credit.balance_sufficient else "does not cover"
        policy = f"; spend policy {credit.spend_policy_verdict}" if credit.spend_policy_verdict != "none" else ""
        return (
            f"balance {credit.balance:g} {covers} a cost of {credit.cost:g} ({credit.cost_source}){policy} → {verdict}"
        )
    if condition.id_set is not None:
        ids = condition.id_set
        held = ", ".join(ids.subject_ids) or "none"
        return f"{ids.subject} ({held}) {operator} one of {', '.join(ids.resource_ids)} → {verdict}"
    return f"{condition.condition_type} condition: {condition.outcome.replace('_', ' ')} → {verdict}"


def explanation_lines(feature: Feature, result: engine.CheckResult, trace: tuple[engine.TraceStep, ...]) -> list[str]:
    """Every rule tried, in order, with each condition's inputs and verdict, then the decision."""
    lines = []
    for step in trace:
        kind = _RULE_WORDS.get(step.rule_type, step.rule_type)
        gives = "on" if step.value else "off"
        verdict = "matched" if step.matched else "did not match"
        lines.append(f"{kind} '{step.rule_name}' (would turn {feature.name} {gives}): {verdict}")
        if step.is_unconditional:
            lines.append("    applies unconditionally")
        for condition in step.conditions:
            if condition.evaluated:
                lines.append("    " + _condition_words(condition))
    if not trace:
        lines.append("No rule applies to this company for this feature.")
    lines.append(f"Decision: {'on' if result.value else 'off'} — {result.reason}")
    return lines

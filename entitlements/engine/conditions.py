"""Fast condition checks (PROTOCOL.md §5.2), one per condition kind, dispatched by ``CHECKS[condition.kind]``.

Each check answers only true/false and allocates nothing; ``entitlements.engine.trace`` explains the same decisions
with the inputs read, using the shared helpers below so that both paths agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from entitlements.engine.credits import check_credit
from entitlements.engine.model import KIND_METRIC, Company, Condition, Options, Text, Trait, User
from entitlements.engine.parsing import text
from entitlements.engine.periods import window_reset_at
from entitlements.engine.values import compare_bool, compare_date, compare_number, compare_string, wrap_int64

EMPTY_TEXT = text("")
"""What a missing trait reads as."""

Check = Callable[[Condition, Company | None, User | None, Options | None], bool]


class RuleFailed(Exception):
    """Raised by a condition that makes its whole rule fail, even inside an OR group: a metric condition without
    ``metric_value`` once it is evaluated with a company and an event (the engine's evaluation error, VERIFIED)."""


def metric_preflight(options: Options | None, event_subtype: str | None) -> int:
    """Units a preflight adds to a metric: a positive ``event_usage`` for this event, else ``usage``."""
    if options is None:
        return 0
    if options.event_quantity > 0 and options.event_subtype == event_subtype:
        return options.event_quantity
    return options.usage


def metric_limit(condition: Condition, company: Company) -> int:
    """The right side of a metric condition: ``metric_value``, or the strict integer of the company trait named by
    ``comparison_trait_definition`` (missing or non-integer → 0)."""
    comparison = condition.comparison_trait_definition
    if comparison is None:
        return condition.metric_value  # type: ignore[return-value]
    trait = company.traits.get(comparison.id)
    return trait.value.strict_int if trait is not None else 0


def metric_reset_at(condition: Condition, company: Company, now: dt.datetime) -> dt.datetime | None:
    """When the condition's metric window resets; ``None`` for ``all_time`` and for a billing cycle whose subscription
    bounds were not offset-aware (the engine then reports no reset); no subscription → calendar month."""
    period, month_reset = condition.metric_period, condition.metric_month_reset
    if period == "current_month" and month_reset == "billing_cycle":
        subscription = company.subscription
        if subscription is not None:
            if not subscription.is_usable:
                return None
            return window_reset_at(period, month_reset, now, subscription.period_start, subscription.period_end)
    return window_reset_at(period, month_reset, now)


def usage_figures(condition: Condition, company: Company | None) -> tuple[int, int] | None:
    """``(usage, allocation)`` a winning optimistic rule reports for its first metric/trait condition; ``None``
    without a company. Read from the company alone: usage is the metric row (un-simulated) or the company trait with
    the condition's definition id (strict integer, missing → 0); allocation is the comparison trait's strict integer
    when the company has it as an integer, else ``metric_value`` or the integer of ``trait_value`` (else 0)."""
    if company is None:
        return None
    allocation: int | None = None
    comparison = condition.comparison_trait_definition
    if comparison is not None:
        comparison_trait = company.traits.get(comparison.id)
        if comparison_trait is not None:
            allocation = comparison_trait.value.int_value
    if condition.kind == KIND_METRIC:
        usage = company.metrics.get(condition.metric_key, 0) if condition.metric_key is not None else 0
        return usage, allocation if allocation is not None else condition.metric_value or 0
    definition = condition.trait_definition
    trait = company.traits.get(definition.id) if definition is not None else None
    usage = trait.value.strict_int if trait is not None else 0
    return usage, allocation if allocation is not None else condition.trait_value.strict_int


def trait_operands(
    condition: Condition, company: Company | None, user: User | None
) -> tuple[str, Text, Text, Trait | None] | None:
    """``(comparable type, left, right, trait found)`` of a trait condition, or ``None`` when it cannot match.

    The entity is chosen by the condition's definition; the comparable type is the found trait's own, else the
    condition's; the right side is ``trait_value`` or the same entity's comparison trait (missing → ``""``).
    """
    definition = condition.trait_definition
    if definition is None:
        return None
    entity = company if definition.entity_type == "company" else user
    if entity is None:
        return None
    traits = entity.traits
    trait = traits.get(definition.id)
    comparison = condition.comparison_trait_definition
    if comparison is None:
        right = condition.trait_value
    else:
        comparison_trait = traits.get(comparison.id)
        right = comparison_trait.value if comparison_trait is not None else EMPTY_TEXT
    if trait is None:
        return definition.comparable_type, EMPTY_TEXT, right, None
    return trait.comparable_type, trait.value, right, trait


def compare_texts(comparable_type: str, operator: str, left: Text, right: Text, usage: int) -> bool:
    """Compare two trait strings as ``comparable_type``; a positive preflight ``usage`` is added to an ``int`` left
    side, which then is read as a strict integer."""
    if comparable_type == "int":
        left_number = wrap_int64(left.strict_int + usage) if usage > 0 else left.number
        return compare_number(operator, left_number, right.number)
    if comparable_type == "string":
        return compare_string(operator, left.raw, right.raw)
    if comparable_type == "bool":
        return compare_bool(operator, left.flag, right.flag)
    return compare_date(operator, left.date_ns, right.date_ns)


def _never(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """An unknown condition type: never matches (VERIFIED F15)."""
    return False


def _company(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The company's id is listed (``ne``: is not); false without a company."""
    if company is None:
        return False
    if condition.operator == "ne":
        return company.id not in condition.resource_id_set
    return company.id in condition.resource_id_set


def _user(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The user's id is listed (``ne``: is not); false without a user."""
    if user is None:
        return False
    if condition.operator == "ne":
        return user.id not in condition.resource_id_set
    return user.id in condition.resource_id_set


def _intersects(condition: Condition, held: frozenset[str]) -> bool:
    """Some listed id is held (``ne``: none is)."""
    if condition.operator == "ne":
        return condition.resource_id_set.isdisjoint(held)
    return not condition.resource_id_set.isdisjoint(held)


def _plan(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The company holds a listed plan (base plan or add-on)."""
    return company is not None and _intersects(condition, company.plan_ids)


def _plan_version(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The company holds a listed plan version."""
    return company is not None and _intersects(condition, company.plan_version_ids)


def _billing_product(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The company holds a listed billing product."""
    return company is not None and _intersects(condition, company.billing_product_ids)


def base_plan_matches(operator: str, base_plan_id: str | None, resource_ids: frozenset[str]) -> bool:
    """``eq``: the base plan is listed; ``ne``: none or not listed; ``is_empty``/``not_empty``: none/some;
    any other operator: false."""
    if operator == "eq":
        return base_plan_id is not None and base_plan_id in resource_ids
    if operator == "ne":
        return base_plan_id is None or base_plan_id not in resource_ids
    if operator == "is_empty":
        return base_plan_id is None
    if operator == "not_empty":
        return base_plan_id is not None
    return False


def _base_plan(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """See ``base_plan_matches``; false without a company."""
    return company is not None and base_plan_matches(
        condition.operator, company.base_plan_id, condition.resource_id_set
    )


def _metric(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """Usage in the window (plus preflight) against the limit; no row reads 0."""
    if company is None or condition.metric_key is None:
        return False
    if condition.metric_value is None:
        raise RuleFailed(condition.id)
    left = company.metrics.get(condition.metric_key, 0)
    if options is not None:
        added = metric_preflight(options, condition.event_subtype)
        if added:
            left = wrap_int64(left + added)
    return compare_number(condition.operator, left, metric_limit(condition, company))


def _trait(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """The trait compared as its comparable type; false without the entity or definition."""
    operands = trait_operands(condition, company, user)
    if operands is None:
        return False
    comparable_type, left, right, _ = operands
    return compare_texts(comparable_type, condition.operator, left, right, options.usage if options is not None else 0)


CHECKS: tuple[Check, ...] = (
    _never,
    _company,
    _user,
    _plan,
    _plan_version,
    _billing_product,
    _base_plan,
    _metric,
    _trait,
    check_credit,
)
"""Condition checks indexed by ``Condition.kind`` (see ``model.CONDITION_KINDS``)."""

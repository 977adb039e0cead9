"""Prepared, immutable engine inputs (PROTOCOL.md §4), built once from wire documents by ``engine.prepare``.

Everything here is indexed for evaluation: rules grouped by flag and pre-sorted, metrics keyed by
``(event_subtype, period, month_reset)``, traits keyed by definition id, trait strings pre-parsed for every
comparable type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RULE_TYPES: tuple[str, ...] = (
    "global_override",
    "company_override",
    "plan_entitlement",
    "company_override_usage_exceeded",
    "plan_entitlement_usage_exceeded",
    "standard",
    "default",
)
"""Every rule type, in the order the groups are tried (PROTOCOL.md §5.1 step 3)."""

OPTIMISTIC_RULE_TYPES = frozenset(
    {"company_override", "plan_entitlement", "company_override_usage_exceeded", "plan_entitlement_usage_exceeded"}
)
"""Entitlement/override types: ``value: true`` rules are tried first, and a match reports feature usage."""

UNCONDITIONAL_RULE_TYPES = frozenset({"global_override", "default"})
"""Types whose rules match without their conditions being evaluated."""

METRIC_PERIODS = frozenset({"all_time", "current_day", "current_week", "current_month"})
MONTH_RESETS = frozenset({"first_of_month", "billing_cycle"})
COMPARABLE_TYPES = frozenset({"bool", "date", "int", "string"})
ENTITY_TYPES = frozenset({"company", "user"})

# Condition kinds, an index into the evaluators' dispatch tables; ``KIND_UNKNOWN`` never matches (VERIFIED F15).
KIND_UNKNOWN, KIND_COMPANY, KIND_USER, KIND_PLAN, KIND_PLAN_VERSION, KIND_BILLING_PRODUCT = 0, 1, 2, 3, 4, 5
KIND_BASE_PLAN, KIND_METRIC, KIND_TRAIT, KIND_CREDIT = 6, 7, 8, 9
CONDITION_KINDS: Mapping[str, int] = {
    "company": KIND_COMPANY,
    "user": KIND_USER,
    "plan": KIND_PLAN,
    "plan_version": KIND_PLAN_VERSION,
    "billing_product": KIND_BILLING_PRODUCT,
    "base_plan": KIND_BASE_PLAN,
    "metric": KIND_METRIC,
    "trait": KIND_TRAIT,
    "credit": KIND_CREDIT,
}


@dataclass(frozen=True, slots=True)
class TraitDefinition:
    """Which trait a condition reads: matched by ``id`` only; ``entity_type`` picks company or user traits."""

    id: str
    comparable_type: str
    entity_type: str


@dataclass(frozen=True, slots=True)
class Text:
    """A trait string with its readings for every comparable type, parsed once (see ``values``)."""

    raw: str
    number: int | float
    int_value: int | None
    strict_int: int
    flag: bool
    date_ns: int | None


@dataclass(frozen=True, slots=True)
class Trait:
    """A trait value as stored on a company or user; ``comparable_type`` is the trait's own definition's."""

    definition_id: str
    comparable_type: str
    value: Text


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition; the fields not used by its ``condition_type`` are carried but ignored."""

    id: str
    condition_type: str
    kind: int
    operator: str
    resource_ids: tuple[str, ...]
    resource_id_set: frozenset[str]
    trait_value: Text
    trait_definition: TraitDefinition | None
    comparison_trait_definition: TraitDefinition | None
    event_subtype: str | None
    metric_value: int | None
    metric_period: str
    metric_month_reset: str
    metric_key: tuple[str, str, str] | None
    credit_id: str | None
    consumption_rate: float
    quantity_rates: Mapping[str, float] | None


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule with its place in the evaluation order precomputed.

    ``order_key`` sorts rules of one check: the type's rank, then ``priority`` for ``standard``, ``0``/``1`` for
    value true/false in optimistic types, ``0`` otherwise. Sorting is stable, so ties keep flag → company → user order.
    ``usage_condition`` is the first top-level metric or trait condition of an optimistic rule (it fills the feature
    usage fields when the rule wins, PROTOCOL.md §5.1 step 5).
    """

    id: str
    name: str
    rule_type: str
    flag_id: str | None
    priority: int
    value: bool
    conditions: tuple[Condition, ...]
    condition_groups: tuple[tuple[Condition, ...], ...]
    source: str
    order_key: tuple[int, int]
    is_unconditional: bool
    reason: str
    usage_condition: Condition | None


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag with its own rules already in evaluation order."""

    id: str
    key: str
    default_value: bool
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class SpendPolicy:
    """A credit spend cap (PROTOCOL.md §4.10); only the kinds ``per_draw`` and ``window`` are enforced."""

    id: str
    credit_id: str
    kind: str
    scope: str
    limit: float
    consumed: float
    window_count: int | None
    window_unit: str | None
    company_id: str | None
    label: str | None
    resets_at: str | None


@dataclass(frozen=True, slots=True)
class Subscription:
    """The billing period behind ``billing_cycle`` resets; ``is_usable`` is false when a bound was not offset-aware."""

    id: str | None
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    is_usable: bool


@dataclass(frozen=True, slots=True)
class Company:
    """A company document, indexed for evaluation."""

    id: str
    account_id: str
    environment_id: str
    keys: Mapping[str, str]
    plan_ids: frozenset[str]
    plan_version_ids: frozenset[str]
    billing_product_ids: frozenset[str]
    base_plan_id: str | None
    credit_balances: Mapping[str, float]
    credit_overdrafts: Mapping[str, float | None]
    spend_policies: tuple[SpendPolicy, ...]
    metrics: Mapping[tuple[str, str, str], int]
    traits: Mapping[str, Trait]
    rules_by_flag: Mapping[str, tuple[Rule, ...]]
    entitlements_by_key: Mapping[str, Mapping[str, Any]]
    subscription: Subscription | None


@dataclass(frozen=True, slots=True)
class User:
    """A user document, indexed for evaluation."""

    id: str
    account_id: str
    environment_id: str
    keys: Mapping[str, str]
    traits: Mapping[str, Trait]
    rules_by_flag: Mapping[str, tuple[Rule, ...]]
    spend_policies: tuple[SpendPolicy, ...]


@dataclass(frozen=True, slots=True)
class Options:
    """A preflight: hypothetical usage the check should account for (PROTOCOL.md §5.2.6).

    ``usage`` and ``event_quantity`` are ``0`` when absent. ``error`` holds the engine's refusal text when a quantity or
    credit cost is negative; such a check answers the flag default with that error.
    """

    usage: int
    event_subtype: str | None
    event_quantity: int
    credit_costs: Mapping[str, float]
    error: str | None

"""Wire documents (PROTOCOL.md §4, snake_case JSON) → prepared engine inputs, validated once.

The checks follow the engine's own deserialiser: engine-required fields must be present with the right JSON type
(integers must be JSON integers, strings JSON strings, enums known lower snake_case values); list fields may be null or
absent; unknown fields are ignored. An unknown ``rule_type`` anywhere in a document is refused, as the engine refuses
the whole check (VERIFIED F16); unknown condition types and operators are kept and simply never match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from entitlements.engine.errors import DocumentError
from entitlements.engine.model import (
    COMPARABLE_TYPES,
    CONDITION_KINDS,
    ENTITY_TYPES,
    KIND_UNKNOWN,
    METRIC_PERIODS,
    MONTH_RESETS,
    OPTIMISTIC_RULE_TYPES,
    RULE_TYPES,
    UNCONDITIONAL_RULE_TYPES,
    Company,
    Condition,
    Flag,
    Options,
    Rule,
    Subscription,
    Trait,
    TraitDefinition,
    User,
)
from entitlements.engine.parsing import (
    entitlement_echo,
    field,
    float_map,
    list_of,
    optional,
    required_bool,
    required_int,
    required_mapping,
    required_str,
    spend_policies,
    string_map,
    text,
)

_RULE_RANK = {rule_type: rank for rank, rule_type in enumerate(RULE_TYPES)}
_USAGE_KINDS = frozenset({CONDITION_KINDS["metric"], CONDITION_KINDS["trait"]})


def _trait_definition(value: Any, path: str) -> TraitDefinition | None:
    """A TraitDefinition, or ``None`` for null."""
    if value is None:
        return None
    document = required_mapping(value, path)
    comparable_type = required_str(document, "comparable_type", path)
    entity_type = required_str(document, "entity_type", path)
    if comparable_type not in COMPARABLE_TYPES:
        raise DocumentError(f"{path}.comparable_type", f"unknown comparable type {comparable_type!r}")
    if entity_type not in ENTITY_TYPES:
        raise DocumentError(f"{path}.entity_type", f"unknown entity type {entity_type!r}")
    return TraitDefinition(required_str(document, "id", path), comparable_type, entity_type)


def _condition(value: Any, path: str) -> Condition:
    """One condition; null period/reset read as ``all_time``/``first_of_month``."""
    document = required_mapping(value, path)
    for name in ("account_id", "environment_id"):
        required_str(document, name, path)
    condition_type = required_str(document, "condition_type", path)
    resource_ids = tuple(list_of(document, "resource_ids", path, str))
    period = optional(document, "metric_period", path, str) or "all_time"
    month_reset = optional(document, "metric_period_month_reset", path, str) or "first_of_month"
    if period not in METRIC_PERIODS:
        raise DocumentError(f"{path}.metric_period", f"unknown metric period {period!r}")
    if month_reset not in MONTH_RESETS:
        raise DocumentError(f"{path}.metric_period_month_reset", f"unknown month reset {month_reset!r}")
    event_subtype = optional(document, "event_subtype", path, str)
    rate = optional(document, "consumption_rate", path, float)
    quantity_rates = document.get("quantity_rates")
    return Condition(
        id=required_str(document, "id", path),
        condition_type=condition_type,
        kind=CONDITION_KINDS.get(condition_type, KIND_UNKNOWN),
        operator=required_str(document, "operator", path),
        resource_ids=resource_ids,
        resource_id_set=frozenset(resource_ids),
        trait_value=text(required_str(document, "trait_value", path)),
        trait_definition=_trait_definition(document.get("trait_definition"), f"{path}.trait_definition"),
        comparison_trait_definition=_trait_definition(
            document.get("comparison_trait_definition"), f"{path}.comparison_trait_definition"
        ),
        event_subtype=event_subtype,
        metric_value=optional(document, "metric_value", path, int),
        metric_period=period,
        metric_month_reset=month_reset,
        metric_key=(event_subtype, period, month_reset) if event_subtype is not None else None,
        credit_id=optional(document, "credit_id", path, str),
        consumption_rate=1.0 if rate is None else rate,
        quantity_rates=None if quantity_rates is None else float_map(quantity_rates, f"{path}.quantity_rates"),
    )


def _conditions(document: Mapping[str, Any], key: str, path: str) -> tuple[Condition, ...]:
    """The conditions under ``key``."""
    return tuple(_condition(item, f"{path}.{key}[{index}]") for index, item in enumerate(list_of(document, key, path)))


def _rule(value: Any, path: str, source: str) -> Rule:
    """One rule with its order key, reason and usage condition precomputed."""
    document = required_mapping(value, path)
    for name in ("account_id", "environment_id"):
        required_str(document, name, path)
    rule_id = required_str(document, "id", path)
    name = required_str(document, "name", path)
    rule_type = required_str(document, "rule_type", path)
    if rule_type not in _RULE_RANK:
        raise DocumentError(f"{path}.rule_type", f"unknown rule type {rule_type!r}")
    priority = required_int(document, "priority", path)
    rule_value = required_bool(document, "value", path)
    conditions = _conditions(document, "conditions", path)
    groups = tuple(
        _conditions(
            required_mapping(group, f"{path}.condition_groups[{index}]"),
            "conditions",
            f"{path}.condition_groups[{index}]",
        )
        for index, group in enumerate(list_of(document, "condition_groups", path))
    )
    is_optimistic = rule_type in OPTIMISTIC_RULE_TYPES
    secondary = 0  # global_override and default rules keep document order
    if rule_type == "standard":
        secondary = priority
    elif is_optimistic:
        secondary = 0 if rule_value else 1
    usage_condition = None
    if is_optimistic:
        usage_condition = next((condition for condition in conditions if condition.kind in _USAGE_KINDS), None)
    return Rule(
        id=rule_id,
        name=name,
        rule_type=rule_type,
        flag_id=optional(document, "flag_id", path, str),
        priority=priority,
        value=rule_value,
        conditions=conditions,
        condition_groups=groups,
        source=source,
        order_key=(_RULE_RANK[rule_type], secondary),
        is_unconditional=rule_type in UNCONDITIONAL_RULE_TYPES,
        reason=f'Matched {rule_type.replace("_", " ")} rule "{name}" ({rule_id})',
        usage_condition=usage_condition,
    )


def _ordered(rules: list[Rule]) -> tuple[Rule, ...]:
    """Rules in evaluation order; ``sorted`` is stable, so equal keys keep document order."""
    return tuple(sorted(rules, key=lambda rule: rule.order_key))


def _rules_by_flag(document: Mapping[str, Any], path: str, source: str) -> dict[str, tuple[Rule, ...]]:
    """Company or user rules grouped by ``flag_id``, each group in evaluation order; rules without one never apply."""
    grouped: dict[str, list[Rule]] = {}
    for index, item in enumerate(list_of(document, "rules", path)):
        rule = _rule(item, f"{path}.rules[{index}]", source)
        if rule.flag_id is not None:
            grouped.setdefault(rule.flag_id, []).append(rule)
    return {flag_id: _ordered(rules) for flag_id, rules in grouped.items()}


def _traits(document: Mapping[str, Any], path: str) -> dict[str, Trait]:
    """Traits by definition id; the first of duplicates wins and traits without a definition are unreachable."""
    traits: dict[str, Trait] = {}
    for index, item in enumerate(list_of(document, "traits", path)):
        item_path = f"{path}.traits[{index}]"
        trait = required_mapping(item, item_path)
        definition = _trait_definition(trait.get("trait_definition"), f"{item_path}.trait_definition")
        value = text(required_str(trait, "value", item_path))
        if definition is not None and definition.id not in traits:
            traits[definition.id] = Trait(definition.id, definition.comparable_type, value)
    return traits


def prepare_flag(document: Mapping[str, Any]) -> Flag:
    """A Flag document (§4.1) prepared for ``evaluate``; ``DocumentError`` when malformed. The ``flag_id`` of the
    flag's own rules is not checked (the engine ignores it)."""
    path = "flag"
    document = required_mapping(document, path)
    for name in ("account_id", "environment_id"):
        required_str(document, name, path)
    rules = [
        _rule(item, f"{path}.rules[{index}]", "flag") for index, item in enumerate(list_of(document, "rules", path))
    ]
    return Flag(
        id=required_str(document, "id", path),
        key=required_str(document, "key", path),
        default_value=required_bool(document, "default_value", path),
        rules=_ordered(rules),
    )


def _subscription(value: Any, path: str) -> Subscription | None:
    """The subscription; a naive bound makes it unusable for billing resets."""
    if value is None:
        return None
    document = required_mapping(value, path)
    bounds: list[dt.datetime | None] = []
    for name in ("period_start", "period_end"):
        raw = required_str(document, name, path)
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError as error:
            raise DocumentError(f"{path}.{name}", f"not an RFC 3339 timestamp: {raw!r}") from error
        bounds.append(moment.astimezone(dt.UTC) if moment.tzinfo is not None else None)
    start, end = bounds
    is_usable = start is not None and end is not None
    return Subscription(optional(document, "id", path, str), start, end, is_usable)


def _postpaid(value: Any, path: str) -> dict[str, float | None]:
    """Overdraft allowance per postpaid credit id: the limit, or ``None`` for no floor."""
    if value is None:
        return {}
    overdrafts: dict[str, float | None] = {}
    for credit_id, config in required_mapping(value, path).items():
        overdrafts[credit_id] = optional(
            required_mapping(config, f"{path}.{credit_id}"), "overdraft_limit", path, float
        )
    return overdrafts


def prepare_company(document: Mapping[str, Any]) -> Company:
    """A Company document (§4.5) indexed for ``evaluate``; ``DocumentError`` when malformed."""
    path = "company"
    document = required_mapping(document, path)
    company_id = required_str(document, "id", path)
    metrics: dict[tuple[str, str, str], int] = {}
    for index, item in enumerate(list_of(document, "metrics", path)):
        item_path = f"{path}.metrics[{index}]"
        metric = required_mapping(item, item_path)
        for name in ("account_id", "environment_id", "company_id", "created_at"):
            required_str(metric, name, item_path)
        period = required_str(metric, "period", item_path)
        month_reset = required_str(metric, "month_reset", item_path)
        if period not in METRIC_PERIODS:
            raise DocumentError(f"{item_path}.period", f"unknown metric period {period!r}")
        if month_reset not in MONTH_RESETS:
            raise DocumentError(f"{item_path}.month_reset", f"unknown month reset {month_reset!r}")
        key = (required_str(metric, "event_subtype", item_path), period, month_reset)
        metrics.setdefault(key, required_int(metric, "value", item_path))
    return Company(
        id=company_id,
        account_id=required_str(document, "account_id", path),
        environment_id=required_str(document, "environment_id", path),
        keys=string_map(field(document, "keys", path, default={}), f"{path}.keys"),
        plan_ids=frozenset(list_of(document, "plan_ids", path, str)),
        plan_version_ids=frozenset(list_of(document, "plan_version_ids", path, str)),
        billing_product_ids=frozenset(list_of(document, "billing_product_ids", path, str)),
        base_plan_id=optional(document, "base_plan_id", path, str),
        credit_balances=float_map(field(document, "credit_balances", path, default={}), f"{path}.credit_balances"),
        credit_overdrafts=_postpaid(document.get("credit_postpaid"), f"{path}.credit_postpaid"),
        spend_policies=spend_policies(document, path),
        metrics=metrics,
        traits=_traits(document, path),
        rules_by_flag=_rules_by_flag(document, path, "company"),
        entitlements_by_key=entitlement_echo(document, path),
        subscription=_subscription(document.get("subscription"), f"{path}.subscription"),
    )


def prepare_user(document: Mapping[str, Any]) -> User:
    """A User document (§4.8) indexed for ``evaluate``; ``DocumentError`` when malformed."""
    path = "user"
    document = required_mapping(document, path)
    return User(
        id=required_str(document, "id", path),
        account_id=required_str(document, "account_id", path),
        environment_id=required_str(document, "environment_id", path),
        keys=string_map(field(document, "keys", path, default={}), f"{path}.keys"),
        traits=_traits(document, path),
        rules_by_flag=_rules_by_flag(document, path, "user"),
        spend_policies=spend_policies(document, path),
    )


def prepare_options(document: Mapping[str, Any] | None) -> Options | None:
    """Preflight options (``usage``, ``event_usage``, ``credit_cost``) or ``None``; unknown keys are ignored.

    Negative quantities are not a ``DocumentError``: the engine answers such a check with the flag default and an
    ``err`` (VERIFIED), so the refusal is kept in ``Options.error`` for ``evaluate`` to report.
    """
    if document is None:
        return None
    path = "options"
    document = required_mapping(document, path)
    usage = optional(document, "usage", path, int)
    event_subtype: str | None = None
    event_quantity: int | None = None
    event_usage = document.get("event_usage")
    if event_usage is not None:
        event = required_mapping(event_usage, f"{path}.event_usage")
        event_subtype = required_str(event, "event_subtype", f"{path}.event_usage")
        event_quantity = optional(event, "quantity", f"{path}.event_usage", int)
    credit_costs = document.get("credit_cost")
    costs = {} if credit_costs is None else float_map(credit_costs, f"{path}.credit_cost")
    error = None
    if (usage is not None and usage < 0) or (event_quantity is not None and event_quantity < 0):
        error = "preflight usage cannot be negative"
    elif any(cost < 0 for cost in costs.values()):
        error = "preflight credit cost cannot be negative"
    return Options(usage or 0, event_subtype, event_quantity or 0, costs, error)

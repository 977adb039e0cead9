"""Which entitlement shapes are valid, as a pure function shared by services and admin forms.

The database holds the same rules as check constraints (``catalog.models``); this module exists so that a person
gets one clear message per field instead of a constraint name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from catalog.models import FeatureType, MetricPeriod, MonthReset, ValueType


@dataclass(frozen=True, slots=True)
class EntitlementShape:
    """The fields of an entitlement that must fit together."""

    feature_type: str
    value_type: str
    allocation: int | None
    metric_period: str | None
    month_reset: str | None
    trait_key: str
    soft_limit: int | None
    has_credit_type: bool = False
    consumption_rate: Decimal | None = None


def entitlement_shape_normalize(shape: EntitlementShape) -> EntitlementShape:
    """Fill the one safe default: a monthly period without a reset resets on the 1st."""
    if shape.metric_period == MetricPeriod.CURRENT_MONTH and not shape.month_reset:
        return dataclasses.replace(shape, month_reset=MonthReset.FIRST_OF_MONTH.value)
    return shape


def entitlement_shape_errors(shape: EntitlementShape) -> dict[str, list[str]]:
    """Return ``{field: [message, …]}`` for every rule the shape breaks; empty when valid."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    value_type, feature_type = shape.value_type, shape.feature_type
    if value_type == ValueType.CREDIT:
        if feature_type != FeatureType.EVENT:
            add("value_type", "Only an event feature can consume credits: its tracked events burn them.")
        if not shape.has_credit_type:
            add("credit_type", "A credit entitlement needs the credit type it consumes.")
        if shape.consumption_rate is None:
            add("consumption_rate", "A credit entitlement needs a consumption rate (credits per unit).")
        elif shape.consumption_rate < 0:
            add("consumption_rate", "The consumption rate cannot be negative.")
    else:
        if shape.has_credit_type:
            add("credit_type", f"A '{value_type}' entitlement consumes no credits.")
        if shape.consumption_rate is not None:
            add("consumption_rate", f"A '{value_type}' entitlement has no consumption rate.")
    if feature_type == FeatureType.BOOLEAN and value_type != ValueType.BOOLEAN:
        add("value_type", f"A boolean feature only takes a 'boolean' entitlement, not '{value_type}'.")
    if feature_type != FeatureType.BOOLEAN and value_type == ValueType.BOOLEAN:
        add("value_type", f"A {feature_type} feature is metered: use 'numeric', 'unlimited', 'trait' or 'credit'.")

    if value_type == ValueType.NUMERIC and shape.allocation is None:
        add("allocation", "A numeric entitlement needs an allocation.")
    if value_type != ValueType.NUMERIC and shape.allocation is not None:
        add("allocation", f"A '{value_type}' entitlement takes no allocation.")
    if value_type != ValueType.NUMERIC and shape.soft_limit is not None:
        add("soft_limit", "Only a numeric entitlement has a soft limit.")
    if value_type == ValueType.TRAIT and not shape.trait_key:
        add("trait_key", "A trait entitlement needs the key of the company trait holding the limit.")
    if value_type != ValueType.TRAIT and shape.trait_key:
        add("trait_key", f"A '{value_type}' entitlement takes no trait key.")

    metered_by_events = feature_type == FeatureType.EVENT
    if metered_by_events and value_type in (ValueType.NUMERIC, ValueType.TRAIT) and not shape.metric_period:
        add("metric_period", "A limit on an event feature needs a metric period.")
    if not metered_by_events and shape.metric_period:
        add("metric_period", f"A {feature_type} feature has no metric period.")
    if shape.metric_period == MetricPeriod.CURRENT_MONTH and not shape.month_reset:
        add("month_reset", "A monthly period needs a month reset.")
    if shape.month_reset and shape.metric_period != MetricPeriod.CURRENT_MONTH:
        add("month_reset", "A month reset only applies to the 'current_month' period.")
    return errors

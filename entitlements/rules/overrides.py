"""Which override shapes are valid (pure; the database holds the same rules as constraints).

A boolean override switches any feature on or off; a limit (numeric, unlimited, from a trait) follows the same rules
as a plan entitlement of that feature.
"""

from __future__ import annotations

import datetime as dt

from catalog.entitlement_rules import EntitlementShape, entitlement_shape_errors, entitlement_shape_normalize
from catalog.models import FeatureType, MonthReset
from entitlements.models.overrides import OverrideState


def override_shape_errors(
    *,
    feature_type: str,
    value_type: str,
    value: bool | None,
    allocation: int | None,
    metric_period: str | None,
    month_reset: str | None,
    trait_key: str,
) -> dict[str, list[str]]:
    """``{field: [message, …]}`` for every rule broken; empty when the override is valid."""
    if value_type == "boolean":
        errors: dict[str, list[str]] = {}
        if value is None:
            errors["value"] = ["A boolean override needs a value: true (on) or false (off)."]
        for field, given in (
            ("allocation", allocation),
            ("metric_period", metric_period),
            ("month_reset", month_reset),
        ):
            if given is not None:
                errors[field] = [f"A boolean override takes no {field.replace('_', ' ')}."]
        if trait_key:
            errors["trait_key"] = ["A boolean override takes no trait key."]
        return errors
    errors = entitlement_shape_errors(
        entitlement_shape_normalize(
            EntitlementShape(feature_type, value_type, allocation, metric_period, month_reset, trait_key, None)
        )
    )
    if feature_type == FeatureType.BOOLEAN:
        errors["value_type"] = ["A boolean feature only takes a boolean override (on or off)."]
    if value is not None:
        errors.setdefault("value", []).append(f"Only a boolean override has a value; this one is '{value_type}'.")
    return errors


def override_month_reset_default(metric_period: str | None, month_reset: str | None) -> str | None:
    """A monthly limit without a reset resets on the 1st."""
    if metric_period == "current_month" and not month_reset:
        return MonthReset.FIRST_OF_MONTH.value
    return month_reset


def override_state_at(*, state: str, expires_at: dt.datetime | None, now: dt.datetime) -> str:
    """The state of an override at ``now``: an active one whose expiry has come is ``expired`` from that instant,
    whether or not the expiry job has marked it yet. Checks, writes, pages and the API all read state through this
    (or its query form, ``entitlements.selectors.override_in_force_q``), so expiry means one thing everywhere."""
    if state == OverrideState.ACTIVE and expires_at is not None and expires_at <= now:
        return OverrideState.EXPIRED
    return state

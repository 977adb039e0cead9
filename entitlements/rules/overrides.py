"""Which override shapes are valid (pure; the database holds the same rules as constraints).

A boolean override switches any feature on or off; a limit (numeric, unlimited, from a trait) follows the same rules
as a plan entitlement of that feature.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

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


class ExpiryPreset(StrEnum):
    """The expiries the "grant an exception" flow offers, besides a date of one's own."""

    END_OF_MONTH = "end_of_month"
    DAYS_7 = "7_days"
    DAYS_30 = "30_days"
    DAYS_90 = "90_days"
    END_OF_TRIAL = "end_of_trial"
    NONE = "none"


_PRESET_DAYS = {ExpiryPreset.DAYS_7: 7, ExpiryPreset.DAYS_30: 30, ExpiryPreset.DAYS_90: 90}


def override_expiry_for_preset(
    preset: ExpiryPreset, *, now: dt.datetime, trial_ends_at: dt.datetime | None
) -> dt.datetime | None:
    """When an override granted at ``now`` with ``preset`` ends (``None``: until revoked).

    End of month is the first instant of the next calendar month in UTC (the exception covers the whole month); N days
    is ``now`` plus N × 24 h to the minute; end of trial is the trial's end (``ValueError`` without a trial).
    """
    if preset == ExpiryPreset.NONE:
        return None
    if preset == ExpiryPreset.END_OF_TRIAL:
        if trial_ends_at is None:
            raise ValueError("The company is not on a trial.")
        return trial_ends_at
    if preset == ExpiryPreset.END_OF_MONTH:
        utc = now.astimezone(dt.UTC)
        first = utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (
            first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)
        )
    return (now + dt.timedelta(days=_PRESET_DAYS[preset])).replace(second=0, microsecond=0)

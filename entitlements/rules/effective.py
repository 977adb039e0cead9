"""The merge policy: what a company effectively gets for each feature from its base plan, add-ons and override.

Across plans the more generous entitlement wins (DESIGN.md §3): unlimited beats any limit; between limits the higher
allowance per day wins, so "1,000 a month" beats "20 a day" (600 a month); limits read from a trait are compared by the
trait's current value. A numeric or unlimited override merges the same way; a boolean override always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import MetricPeriod, ValueType

# Days per window, to compare allowances of different periods. An all-time allowance is weighed as a year's worth.
_PERIOD_DAYS: dict[str | None, float] = {
    MetricPeriod.CURRENT_DAY: 1.0,
    MetricPeriod.CURRENT_WEEK: 7.0,
    MetricPeriod.CURRENT_MONTH: 30.436875,
    MetricPeriod.ALL_TIME: 365.2425,
    None: 1.0,  # trait-metered features have no window; allowances compare directly
}


@dataclass(frozen=True, slots=True)
class Grant:
    """One source's entitlement to a feature: a base plan's or an add-on's entitlement row, or an override."""

    source_kind: str  # "plan", "add_on" or "override" (a plan grant during a trial is shown as "trial")
    source_id: str  # the public id of the plan (or override)
    source_name: str
    entitlement_id: str  # the public id of the row that grants it; stable, used to name the rules
    value_type: str
    allocation: int | None
    metric_period: str | None
    month_reset: str | None
    trait_key: str
    soft_limit: int | None
    value: bool = True  # what a boolean grant turns the feature to (an override may turn it off)
    credit_type_id: str = ""  # the credit type's public id (credit grants)
    consumption_rate: float | None = None  # credits per unit (credit grants)
    extra: tuple[tuple[str, str], ...] = ()  # details shown with the source (an override's granter, expiry, note)


def _generosity(grant: Grant, trait_values: dict[str, int]) -> float:
    """A comparable size: infinity for unlimited or on/off, allowance per day for limits."""
    if grant.value_type in (ValueType.UNLIMITED, ValueType.BOOLEAN):
        return float("inf")
    if grant.value_type == ValueType.CREDIT:  # gated by the balance, not an allowance: a cheaper rate is more generous
        rate = grant.consumption_rate or 0.0
        return float("inf") if rate == 0 else 1e12 / rate
    allocation = (
        grant.allocation if grant.value_type == ValueType.NUMERIC else trait_values.get(grant.trait_key.lower(), 0)
    )
    return (allocation or 0) / _PERIOD_DAYS.get(grant.metric_period, 1.0)


def grant_effective(plan_grants: list[Grant], override: Grant | None, *, trait_values: dict[str, int]) -> Grant:
    """The grant that decides a feature: a boolean override always wins (it can switch a plan feature off); a limit
    override competes with the plans' grants like another plan, the most generous winning (plans win ties)."""
    if override is not None and (override.value_type == ValueType.BOOLEAN or not plan_grants):
        return override
    candidates = [*plan_grants, override] if override is not None else plan_grants
    return grant_most_generous(candidates, trait_values=trait_values)


def grant_most_generous(grants: list[Grant], *, trait_values: dict[str, int]) -> Grant:
    """The grant that wins among several for the same feature; the base plan wins ties (listed first)."""
    best = grants[0]
    best_size = _generosity(best, trait_values)
    for grant in grants[1:]:
        size = _generosity(grant, trait_values)
        if size > best_size:
            best, best_size = grant, size
    return best

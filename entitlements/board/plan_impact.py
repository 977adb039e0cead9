"""Who a change to one plan entitlement would hurt, read before it is saved.

A plan's entitlement decides a feature only for the companies whose effective entitlement comes from it: a company
whose override or other plan wins (the board's ``FeatureState.source``) feels no change to this plan. For the others
the change is built into their document as the next check would read it (same snapshot, same pure build), so another
plan or an override that would take over after the change is counted as it will count — and the usage compared is
that of the window the new entitlement meters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from catalog.models import Entitlement, Feature, Plan, ValueType
from entitlements.board.entitlement_board import FeatureState, company_entitlement_boards
from entitlements.documents.company_build import FeatureGrant, company_document_build
from entitlements.documents.snapshot import company_snapshot_fetch
from entitlements.models import Company, Subscription, SubscriptionStatus

NAMES_SHOWN = 20  # how many companies a sentence names before "and N more"


@dataclass(frozen=True, slots=True)
class EntitlementValues:
    """What a plan entitlement grants: its value fields, as a form or the services take them (credit type by
    public id)."""

    value_type: str
    allocation: int | None = None
    metric_period: str | None = None
    month_reset: str | None = None
    trait_key: str = ""
    soft_limit: int | None = None
    credit_type_id: str = ""
    consumption_rate: Decimal | None = None

    @classmethod
    def of(cls, entitlement: Entitlement) -> EntitlementValues:
        """The values a stored entitlement grants."""
        return cls(
            value_type=entitlement.value_type,
            allocation=entitlement.allocation,
            metric_period=entitlement.metric_period or None,
            month_reset=entitlement.month_reset or None,
            trait_key=entitlement.trait_key or "",
            soft_limit=entitlement.soft_limit,
            credit_type_id=entitlement.credit_type.public_id if entitlement.credit_type is not None else "",
            consumption_rate=entitlement.consumption_rate,
        )


class CompanyOverLimit(NamedTuple):
    """A company whose usage would reach or pass its new limit: the next use would be refused."""

    company: Company
    usage: int
    new_limit: int


@dataclass(frozen=True, slots=True)
class PlanLimitChangeImpact:
    """What a change to ``plan``'s entitlement to ``feature`` would do to the companies on the plan.

    ``companies_on_plan`` counts the companies holding the plan live, as base plan or add-on; ``over`` are those it
    would put at or over their new limit (most used first), ``losing_access`` those no source would grant the
    feature any more, or only with a limit of 0 (by name). Companies whose override or other plan decides the
    feature are in neither.
    """

    plan: Plan
    feature: Feature
    companies_on_plan: int
    over: tuple[CompanyOverLimit, ...] = ()
    losing_access: tuple[Company, ...] = ()

    @property
    def hurts(self) -> bool:
        """Whether any company would be put over a limit or lose the feature."""
        return bool(self.over or self.losing_access)


def _may_lower(old: EntitlementValues, new: EntitlementValues | None) -> bool:
    """Whether ``new`` could give some company less than ``old`` (``None``: the entitlement is removed). Only the
    changes that certainly cannot are ruled out: to unlimited, a numeric limit raised in the same window, a change of
    the soft limit alone."""
    if new is None:
        return True
    if new.value_type in (ValueType.UNLIMITED, ValueType.BOOLEAN):
        return False  # unlimited is the most a metered feature gets; a boolean entitlement has a single shape
    same_window = (old.metric_period, old.month_reset) == (new.metric_period, new.month_reset)
    if same_window and old.value_type == new.value_type == ValueType.NUMERIC:
        return (new.allocation or 0) < (old.allocation or 0)
    return not (same_window and dataclasses.replace(old, soft_limit=None) == dataclasses.replace(new, soft_limit=None))


def _company_ids_on_plan(plan: Plan) -> set[int]:
    """The companies whose live (not canceled) subscription has ``plan`` as base plan or add-on."""
    live = Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
    on_base = live.filter(plan=plan).values_list("company_id", flat=True)
    on_add_on = live.filter(add_ons=plan).values_list("company_id", flat=True)
    return set(on_base) | set(on_add_on)


def _grants_changed(
    grants: tuple[FeatureGrant, ...], *, plan: Plan, feature: Feature, new: EntitlementValues | None
) -> tuple[FeatureGrant, ...]:
    """The plan grants with ``plan``'s grant of ``feature`` replaced by ``new`` (dropped when ``None``)."""
    changed = []
    for granted in grants:
        if granted.feature.id == feature.pk and granted.grant.source_id == plan.public_id:
            if new is None:
                continue
            rate = float(new.consumption_rate) if new.consumption_rate is not None else None
            grant = dataclasses.replace(
                granted.grant,
                value_type=new.value_type,
                allocation=new.allocation,
                metric_period=new.metric_period,
                month_reset=new.month_reset,
                trait_key=new.trait_key,
                soft_limit=new.soft_limit,
                credit_type_id=new.credit_type_id,
                consumption_rate=rate,
            )
            granted = dataclasses.replace(granted, grant=grant)
        changed.append(granted)
    return tuple(changed)


def _allows_more_than(current: FeatureState, new_limit: int) -> bool:
    """Whether the company may use more today than a limit of ``new_limit`` it has reached would let it: no limit,
    a higher one, or one it is still under."""
    if current.allocation is None:
        return True
    return current.allocation > new_limit or (current.usage or 0) < current.allocation


def plan_limit_change_impact(
    *, entitlement: Entitlement, new: EntitlementValues | None, now: dt.datetime
) -> PlanLimitChangeImpact:
    """Who would be hurt if the stored ``entitlement`` were changed to ``new`` (``None``: deleted) at ``now``.

    A read: nothing is written or cached. A change that cannot give less (unlimited, a higher limit in the same
    window) costs one query. Otherwise the boards of the companies on the plan are read (one cache round trip each
    when warm), and each company whose entitlement comes from this plan has its document built with the change (a
    compile's queries each): it is *over* when its usage in the new window reaches the new effective limit while
    today it may use more; it *loses access* when no plan or override would grant the feature (or only a limit of 0).
    """
    plan, feature = entitlement.plan, entitlement.feature
    company_ids = _company_ids_on_plan(plan)
    if not company_ids or not _may_lower(EntitlementValues.of(entitlement), new):
        return PlanLimitChangeImpact(plan=plan, feature=feature, companies_on_plan=len(company_ids))
    over: dict[int, tuple[int, int]] = {}
    losing: set[int] = set()
    boards = company_entitlement_boards(company_ids=sorted(company_ids), now=now)
    for company_id, board in boards.items():
        current = next((state for state in board if state.feature.pk == feature.pk), None)
        if current is None or current.source.get("id") != plan.public_id:
            continue  # an override or another plan decides this feature for the company
        snapshot = company_snapshot_fetch(company_id=company_id, now=now)
        if snapshot is None:  # deleted since the boards were read
            continue
        changed = dataclasses.replace(
            snapshot, plan_grants=_grants_changed(snapshot.plan_grants, plan=plan, feature=feature, new=new)
        )
        summaries = company_document_build(changed, now=now).document["entitlements"]
        after = next((summary for summary in summaries if summary["feature_key"] == feature.key), None)
        if after is None:
            losing.add(company_id)
            continue
        limit, usage = after["allocation"], after["usage"]
        if limit == 0:  # granted, but not one use: the feature is gone
            losing.add(company_id)
        elif limit is not None and usage is not None and usage >= limit and _allows_more_than(current, limit):
            over[company_id] = (usage, limit)
    companies = Company.objects.in_bulk(over.keys() | losing)
    return PlanLimitChangeImpact(
        plan=plan,
        feature=feature,
        companies_on_plan=len(company_ids),
        over=tuple(
            sorted(
                (CompanyOverLimit(companies[pk], usage, limit) for pk, (usage, limit) in over.items()),
                key=lambda row: (-row.usage, row.company.name, row.company.pk),
            )
        ),
        losing_access=tuple(sorted((companies[pk] for pk in losing), key=lambda company: (company.name, company.pk))),
    )


def _names(parts: list[str], shown: int) -> str:
    listed = ", ".join(parts[:shown])
    return f"{listed} and {len(parts) - shown:,} more" if len(parts) > shown else listed


def _amount(feature: Feature, quantity: int) -> str:
    """``1,000 generations``: the quantity with the feature's unit (its name when it has none)."""
    unit = (feature.unit_singular if quantity == 1 else feature.unit_plural) or feature.name
    return f"{quantity:,} {unit}"


def plan_limit_change_impact_words(impact: PlanLimitChangeImpact, *, names_shown: int = NAMES_SHOWN) -> str:
    """The impact in one sentence for people ("12 companies are on Pro; 3 of them would go over the new limit of
    1,000 generations: Acme (1,204 used), …"), naming at most ``names_shown`` companies per list; empty when the
    change hurts nobody."""
    if not impact.hurts:
        return ""
    count = impact.companies_on_plan
    on_plan = f"{count:,} {'company is' if count == 1 else 'companies are'} on {impact.plan.name}"
    parts = []
    if impact.over:
        limits = {row.new_limit for row in impact.over}
        if len(limits) == 1:
            used = [f"{row.company.name} ({row.usage:,} used)" for row in impact.over]
            limit_words = f"the new limit of {_amount(impact.feature, limits.pop())}"
        else:
            used = [f"{row.company.name} ({row.usage:,} used of {row.new_limit:,})" for row in impact.over]
            limit_words = f"their new limit of {impact.feature.name}"
        parts.append(f"{len(impact.over):,} of them would go over {limit_words}: {_names(used, names_shown)}")
    if impact.losing_access:
        names = [company.name for company in impact.losing_access]
        lead = f"{len(names):,}" if impact.over else f"{len(names):,} of them"
        parts.append(f"{lead} would lose access to {impact.feature.name}: {_names(names, names_shown)}")
    return f"{on_plan}; {'; '.join(parts)}."

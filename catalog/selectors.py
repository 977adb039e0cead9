"""Reads of the catalog. Paths accept a key or a public id, so lookups try both."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import CreditBundle, CreditType, Entitlement, Feature, Plan, Price
from core.errors import NotFound
from core.persistence import text_storable


def feature_list() -> QuerySet[Feature]:
    """All features, ordered by key."""
    return Feature.objects.order_by("key")


def feature_get(*, identifier: str) -> Feature:
    """The feature whose public id or key (case-insensitive) is ``identifier``; ``NotFound`` otherwise."""
    feature = (
        Feature.objects.filter(public_id=identifier).first() or Feature.objects.filter(key__iexact=identifier).first()
        if text_storable(identifier)
        else None
    )
    if feature is None:
        raise NotFound(f"No feature with key or id '{identifier}'.", field="feature")
    return feature


def plan_list(*, plan_type: str | None = None, is_active: bool | None = None) -> QuerySet[Plan]:
    """Plans ordered by key, optionally filtered by type and active flag."""
    plans = Plan.objects.order_by("key")
    if plan_type is not None:
        plans = plans.filter(plan_type=plan_type)
    if is_active is not None:
        plans = plans.filter(is_active=is_active)
    return plans


def plan_get(*, identifier: str) -> Plan:
    """The plan whose public id or key (case-insensitive) is ``identifier``; ``NotFound`` otherwise."""
    plan = (
        Plan.objects.filter(public_id=identifier).first() or Plan.objects.filter(key__iexact=identifier).first()
        if text_storable(identifier)
        else None
    )
    if plan is None:
        raise NotFound(f"No plan with key or id '{identifier}'.", field="plan")
    return plan


def plan_initial_get() -> Plan | None:
    """The plan new companies start on, if the catalog has one."""
    return Plan.objects.filter(is_initial=True).first()


def plan_fallback_get() -> Plan | None:
    """The plan companies land on when a subscription ends, if one is set."""
    return Plan.objects.filter(is_fallback=True).first()


def entitlement_list(*, plan: Plan) -> QuerySet[Entitlement]:
    """The plan's entitlements with their features, ordered by feature key."""
    return Entitlement.objects.filter(plan=plan).select_related("feature", "plan").order_by("feature__key")


def entitlement_get(*, plan: Plan, feature_identifier: str) -> Entitlement:
    """The plan's entitlement for the feature named by key or id; ``NotFound`` otherwise."""
    feature = feature_get(identifier=feature_identifier)
    entitlement = entitlement_list(plan=plan).filter(feature=feature).first()
    if entitlement is None:
        raise NotFound(f"Plan '{plan.key}' has no entitlement for feature '{feature.key}'.", field="feature")
    return entitlement


def price_list(*, plan: Plan) -> QuerySet[Price]:
    """The plan's prices, ordered by interval and currency."""
    return Price.objects.filter(plan=plan).select_related("plan").order_by("interval", "currency")


def price_get(*, plan: Plan, public_id: str) -> Price:
    """The plan's price with this public id; ``NotFound`` otherwise."""
    price = price_list(plan=plan).filter(public_id=public_id).first() if text_storable(public_id) else None
    if price is None:
        raise NotFound(f"Plan '{plan.key}' has no price '{public_id}'.", field="price")
    return price


# --- Credit types and bundles ------------------------------------------------------------------------------------


def credit_type_list() -> QuerySet[CreditType]:
    """All credit types with their prices, ordered by key."""
    return CreditType.objects.order_by("key").prefetch_related("prices")


def credit_type_get(*, identifier: str) -> CreditType:
    """The credit type whose public id or key (case-insensitive) is ``identifier``; ``NotFound`` otherwise."""
    credit_type = (
        credit_type_list().filter(public_id=identifier).first()
        or credit_type_list().filter(key__iexact=identifier).first()
        if text_storable(identifier)
        else None
    )
    if credit_type is None:
        raise NotFound(f"No credit type with key or id '{identifier}'.", field="credit_type")
    return credit_type


def credit_bundle_list(*, credit_type: CreditType | None = None) -> QuerySet[CreditBundle]:
    """Bundles with their credit type, ordered by credit type and size; optionally those of one type."""
    bundles = CreditBundle.objects.select_related("credit_type").order_by("credit_type__key", "quantity", "key")
    if credit_type is not None:
        bundles = bundles.filter(credit_type=credit_type)
    return bundles


def credit_bundle_get(*, identifier: str) -> CreditBundle:
    """The bundle whose public id or key is ``identifier`` (an exact key first, then any case); ``NotFound``
    otherwise."""
    bundle = (
        credit_bundle_list().filter(public_id=identifier).first()
        or credit_bundle_list().filter(key=identifier).first()
        or credit_bundle_list().filter(key__iexact=identifier).first()
        if text_storable(identifier)
        else None
    )
    if bundle is None:
        raise NotFound(f"No credit bundle with key or id '{identifier}'.", field="credit_bundle")
    return bundle

"""Every write to the catalog. Each function is one transaction and logs who made the change.

Cross-row rules enforced here (the database backs each one with a constraint): exactly one initial plan once a base
plan exists, at most one fallback plan, entitlement shapes that fit their feature, feature types frozen while in use.
Each write appends one audit entry (``feature.created``, ``plan.updated``, …) in its transaction; an update that
changes nothing records nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from catalog.entitlement_rules import EntitlementShape, entitlement_shape_errors, entitlement_shape_normalize
from catalog.events import CatalogChanged, CatalogObject
from catalog.models import Entitlement, Feature, Plan, PlanType, Price
from core.actors import Actor
from core.audit import audit_record, audit_record_changes, audit_snapshot
from core.errors import Conflict, ValidationFailed
from core.events import event_emit
from core.persistence import instance_delete_guarded, instance_fields_set, instance_save_validated

logger = logging.getLogger(__name__)

_FEATURE_FIELDS = {
    "key",
    "name",
    "description",
    "feature_type",
    "event_name",
    "trait_key",
    "unit_singular",
    "unit_plural",
    "forced_value",
}
_PLAN_FIELDS = {"key", "name", "description", "plan_type", "is_active", "trial_days", "is_initial", "is_fallback"}
_ENTITLEMENT_FIELDS = {
    "value_type",
    "allocation",
    "metric_period",
    "month_reset",
    "trait_key",
    "soft_limit",
    "credit_type",
    "consumption_rate",
}
_PRICE_FIELDS = {"interval", "currency", "amount_minor"}
_UNIQUE_KEY_CODES = {"duplicate_key": "key"}

# What the audit log shows of each object, in a stable order.
_FEATURE_AUDIT = sorted(_FEATURE_FIELDS)
_PLAN_AUDIT = sorted(_PLAN_FIELDS)
_ENTITLEMENT_AUDIT = ["plan", "feature", *sorted(_ENTITLEMENT_FIELDS)]
_PRICE_AUDIT = ["plan", *sorted(_PRICE_FIELDS)]
# An update cannot move an entitlement or a price to another plan or feature: compare the value fields only.
_ENTITLEMENT_VALUES_AUDIT = sorted(_ENTITLEMENT_FIELDS)
_PRICE_VALUES_AUDIT = sorted(_PRICE_FIELDS)


def _notes(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def catalog_change_log(event: str, actor: Actor, **fields: Any) -> None:
    """Announce and log a catalog change: ``event`` is ``"<kind> <created|updated|deleted>"`` and ``fields`` name the
    object by its kind (``feature="feat_…"``, ``plan_credit_grant="plan_…/cred_…"``). Emits ``CatalogChanged``, which
    makes every document compiled from the catalog stale and pushes fresh flags to connected SDKs once the
    transaction commits."""
    *kind_words, change = event.split()
    kind = "_".join(kind_words)
    event_emit(CatalogChanged(objects=(CatalogObject(kind=kind, public_id=str(fields[kind]), change=change),)))
    logger.info(event, extra={"actor": str(actor), **fields})


# --- Features ----------------------------------------------------------------------------------------------------


def _feature_save(feature: Feature) -> None:
    feature.key = (feature.key or "").strip()
    instance_save_validated(feature, code_fields=_UNIQUE_KEY_CODES)


def feature_create(*, actor: Actor, note: str = "", **fields: Any) -> Feature:
    """Create a feature. Raises ``ValidationFailed`` for a bad or duplicate key or a type without its meter."""
    feature = Feature()
    instance_fields_set(feature, fields, _FEATURE_FIELDS)
    with transaction.atomic():
        _feature_save(feature)
        audit_record(
            actor=actor,
            action="feature.created",
            target=feature,
            after=audit_snapshot(feature, _FEATURE_AUDIT),
            note=note,
        )
    catalog_change_log("feature created", actor, feature=feature.public_id, key=feature.key)
    return feature


def feature_update(*, actor: Actor, feature: Feature, note: str = "", **changes: Any) -> Feature:
    """Change a feature's fields. Its type cannot change while plan entitlements use it."""
    with transaction.atomic():
        stored = Feature.objects.select_for_update().get(pk=feature.pk)
        new_type = changes.get("feature_type", stored.feature_type)
        if new_type != stored.feature_type and stored.entitlements.exists():
            raise ValidationFailed(
                "The type of a feature cannot change while plans have entitlements for it.", field="feature_type"
            )
        instance_fields_set(feature, changes, _FEATURE_FIELDS)
        _feature_save(feature)
        audit_record_changes(
            actor=actor,
            action="feature.updated",
            target=feature,
            before=audit_snapshot(stored, _FEATURE_AUDIT),
            after=audit_snapshot(feature, _FEATURE_AUDIT),
            note=note,
        )
    catalog_change_log("feature updated", actor, feature=feature.public_id, changed=sorted(changes))
    return feature


def feature_delete(*, actor: Actor, feature: Feature, note: str = "") -> None:
    """Delete a feature. Refused with ``Conflict`` while any plan has an entitlement for it."""
    public_id = feature.public_id
    with transaction.atomic():
        before = audit_snapshot(feature, _FEATURE_AUDIT)
        label = str(feature)
        instance_delete_guarded(feature, what=f"Feature '{feature.key}'")
        audit_record(
            actor=actor,
            action="feature.deleted",
            target_type="feature",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    catalog_change_log("feature deleted", actor, feature=public_id)


# --- Plans -------------------------------------------------------------------------------------------------------


def _plan_save(plan: Plan, *, previous: Plan | None) -> list[str]:
    """Validate the initial/fallback rules against the stored catalog, move the markers, then save.

    Returns a note for each marker taken from another plan ("initial plan moved from free").
    """
    moved: list[str] = []
    plan.key = (plan.key or "").strip()
    initial = Plan.objects.select_for_update().filter(is_initial=True).exclude(pk=plan.pk).first()
    if previous is not None and previous.is_initial and not plan.is_initial:
        raise ValidationFailed(
            "This is the initial plan for new companies; mark another base plan as initial instead.",
            field="is_initial",
        )
    if initial is None and plan.plan_type == PlanType.BASE and plan.is_active:
        plan.is_initial = True  # the catalog always has exactly one initial plan once a base plan exists
    if plan.is_initial and initial is not None:
        initial.is_initial = False
        initial.save(update_fields=["is_initial", "updated_at"])
        moved.append(f"initial plan moved from {initial.key}")
    if plan.is_fallback:
        holders = Plan.objects.filter(is_fallback=True).exclude(pk=plan.pk)
        moved.extend(f"fallback plan moved from {key}" for key in holders.values_list("key", flat=True))
        holders.update(is_fallback=False)
    instance_save_validated(plan, code_fields=_UNIQUE_KEY_CODES)
    return moved


def plan_create(*, actor: Actor, note: str = "", **fields: Any) -> Plan:
    """Create a plan. The first active base plan becomes the initial plan; ``is_initial``/``is_fallback`` move the
    marker from the plan that held it."""
    plan = Plan()
    instance_fields_set(plan, fields, _PLAN_FIELDS)
    with transaction.atomic():
        moved = _plan_save(plan, previous=None)
        audit_record(
            actor=actor,
            action="plan.created",
            target=plan,
            after=audit_snapshot(plan, _PLAN_AUDIT),
            note=_notes(note, *moved),
        )
    catalog_change_log("plan created", actor, plan=plan.public_id, key=plan.key)
    return plan


def plan_update(*, actor: Actor, plan: Plan, note: str = "", **changes: Any) -> Plan:
    """Change a plan. The initial plan stays initial until another plan takes the role."""
    with transaction.atomic():
        previous = Plan.objects.select_for_update().get(pk=plan.pk)
        instance_fields_set(plan, changes, _PLAN_FIELDS)
        moved = _plan_save(plan, previous=previous)
        audit_record_changes(
            actor=actor,
            action="plan.updated",
            target=plan,
            before=audit_snapshot(previous, _PLAN_AUDIT),
            after=audit_snapshot(plan, _PLAN_AUDIT),
            note=_notes(note, *moved),
        )
    catalog_change_log("plan updated", actor, plan=plan.public_id, changed=sorted(changes))
    return plan


def plan_delete(*, actor: Actor, plan: Plan, note: str = "") -> None:
    """Delete a plan with its entitlements and prices. Refused while subscriptions use it, and for the initial plan
    while other base plans exist (one of them must take over first)."""
    with transaction.atomic():
        if plan.is_initial and Plan.objects.filter(plan_type=PlanType.BASE).exclude(pk=plan.pk).exists():
            raise Conflict(
                f"Plan '{plan.key}' is the initial plan; mark another base plan as initial first.", code="initial_plan"
            )
        public_id = plan.public_id
        before = audit_snapshot(plan, _PLAN_AUDIT)
        label = str(plan)
        instance_delete_guarded(plan, what=f"Plan '{plan.key}'")
        audit_record(
            actor=actor,
            action="plan.deleted",
            target_type="plan",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    catalog_change_log("plan deleted", actor, plan=public_id)


# --- Entitlements ------------------------------------------------------------------------------------------------


def _entitlement_save(entitlement: Entitlement) -> None:
    shape = entitlement_shape_normalize(
        EntitlementShape(
            feature_type=entitlement.feature.feature_type,
            value_type=entitlement.value_type,
            allocation=entitlement.allocation,
            metric_period=entitlement.metric_period or None,
            month_reset=entitlement.month_reset or None,
            trait_key=entitlement.trait_key or "",
            soft_limit=entitlement.soft_limit,
            has_credit_type=entitlement.credit_type_id is not None,
            consumption_rate=entitlement.consumption_rate,
        )
    )
    errors = entitlement_shape_errors(shape)
    if errors:
        raise ValidationFailed("Invalid entitlement: " + ", ".join(sorted(errors)), fields=errors)
    entitlement.feature_type = shape.feature_type
    entitlement.metric_period = shape.metric_period
    entitlement.month_reset = shape.month_reset
    entitlement.trait_key = shape.trait_key
    instance_save_validated(entitlement)


def entitlement_create(*, actor: Actor, plan: Plan, feature: Feature, note: str = "", **fields: Any) -> Entitlement:
    """Give a plan an entitlement to a feature. ``ValidationFailed`` if the plan has one or the shape is invalid."""
    with transaction.atomic():
        if Entitlement.objects.filter(plan=plan, feature=feature).exists():
            raise ValidationFailed(
                f"Plan '{plan.key}' already has an entitlement for feature '{feature.key}'.", field="feature"
            )
        entitlement = Entitlement(plan=plan, feature=feature)
        instance_fields_set(entitlement, fields, _ENTITLEMENT_FIELDS)
        _entitlement_save(entitlement)
        audit_record(
            actor=actor,
            action="entitlement.created",
            target=entitlement,
            after=audit_snapshot(entitlement, _ENTITLEMENT_AUDIT),
            note=note,
        )
    catalog_change_log(
        "entitlement created",
        actor,
        entitlement=entitlement.public_id,
        plan=plan.public_id,
        feature=feature.public_id,
    )
    return entitlement


def entitlement_update(*, actor: Actor, entitlement: Entitlement, note: str = "", **changes: Any) -> Entitlement:
    """Change an entitlement's value fields; the result must still be a valid shape."""
    with transaction.atomic():
        # The stored row, not the instance: an admin form has already written its values onto the instance.
        stored = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
        instance_fields_set(entitlement, changes, _ENTITLEMENT_FIELDS)
        _entitlement_save(entitlement)
        audit_record_changes(
            actor=actor,
            action="entitlement.updated",
            target=entitlement,
            before=audit_snapshot(stored, _ENTITLEMENT_VALUES_AUDIT),
            after=audit_snapshot(entitlement, _ENTITLEMENT_VALUES_AUDIT),
            note=note,
        )
    catalog_change_log("entitlement updated", actor, entitlement=entitlement.public_id, changed=sorted(changes))
    return entitlement


def entitlement_delete(*, actor: Actor, entitlement: Entitlement, note: str = "") -> None:
    """Remove a feature from a plan."""
    public_id = entitlement.public_id
    with transaction.atomic():
        before = audit_snapshot(entitlement, _ENTITLEMENT_AUDIT)
        label = str(entitlement)
        entitlement.delete()
        audit_record(
            actor=actor,
            action="entitlement.deleted",
            target_type="entitlement",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    catalog_change_log("entitlement deleted", actor, entitlement=public_id)


# --- Prices ------------------------------------------------------------------------------------------------------


def _price_save(price: Price) -> None:
    price.currency = (price.currency or "").strip().lower()
    instance_save_validated(price)


def price_create(*, actor: Actor, plan: Plan, note: str = "", **fields: Any) -> Price:
    """Add a price to a plan; one per interval and currency."""
    price = Price(plan=plan)
    instance_fields_set(price, fields, _PRICE_FIELDS)
    with transaction.atomic():
        _price_save(price)
        audit_record(
            actor=actor, action="price.created", target=price, after=audit_snapshot(price, _PRICE_AUDIT), note=note
        )
    catalog_change_log("price created", actor, price=price.public_id, plan=plan.public_id)
    return price


def price_update(*, actor: Actor, price: Price, note: str = "", **changes: Any) -> Price:
    """Change a price's amount, interval or currency."""
    instance_fields_set(price, changes, _PRICE_FIELDS)
    with transaction.atomic():
        stored = Price.objects.select_for_update().get(pk=price.pk)
        _price_save(price)
        audit_record_changes(
            actor=actor,
            action="price.updated",
            target=price,
            before=audit_snapshot(stored, _PRICE_VALUES_AUDIT),
            after=audit_snapshot(price, _PRICE_VALUES_AUDIT),
            note=note,
        )
    catalog_change_log("price updated", actor, price=price.public_id, changed=sorted(changes))
    return price


def price_delete(*, actor: Actor, price: Price, note: str = "") -> None:
    """Remove a price from its plan."""
    public_id = price.public_id
    with transaction.atomic():
        before = audit_snapshot(price, _PRICE_AUDIT)
        label = str(price)
        price.delete()
        audit_record(
            actor=actor,
            action="price.deleted",
            target_type="price",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    catalog_change_log("price deleted", actor, price=public_id)

"""Every write to the credit catalog: credit types (with their prices), credit bundles, and the credits plans include.

Each function is one transaction with one audit entry (``credit_type.created``, ``credit_bundle.updated``, …); an
update that changes nothing records nothing. Every change makes the documents compiled from the catalog stale once it
commits. The lookups the interfaces need sit at the end (the catalog's selectors module belongs to another change).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from catalog.models import CreditBundle, CreditPrice, CreditType, Plan, PlanCreditGrant
from catalog.services import catalog_change_log
from core.actors import Actor
from core.audit import audit_record, audit_record_changes
from core.errors import ValidationFailed
from core.persistence import instance_delete_guarded, instance_fields_set, instance_save_validated

logger = logging.getLogger(__name__)

_CREDIT_TYPE_FIELDS = {
    "key",
    "name",
    "singular_name",
    "plural_name",
    "burn_order",
    "default_expiry_days",
    "overdraft_limit",
    "low_balance_threshold",
    "low_balance_percent",
}
_CREDIT_BUNDLE_FIELDS = {
    "key",
    "name",
    "credit_type",
    "quantity",
    "price_minor",
    "currency",
    "expiry_days",
    "is_active",
}
_PLAN_CREDIT_GRANT_FIELDS = {"quantity", "interval", "rollover_percent"}
_UNIQUE_KEY_CODES = {"duplicate_key": "key"}
_CURRENCY = re.compile(r"^[a-z]{3}$")

_CREDIT_TYPE_AUDIT = sorted(_CREDIT_TYPE_FIELDS)
_CREDIT_BUNDLE_AUDIT = sorted(_CREDIT_BUNDLE_FIELDS)
_PLAN_CREDIT_GRANT_AUDIT = ["plan", "credit_type", *sorted(_PLAN_CREDIT_GRANT_FIELDS)]
_PLAN_CREDIT_GRANT_VALUES_AUDIT = sorted(_PLAN_CREDIT_GRANT_FIELDS)


def _snapshot(instance: Any, fields: list[str]) -> dict[str, Any]:
    """The named fields for the audit log, decimals normalized so ``5`` and a stored ``5.000000`` compare equal."""
    return {name: _plain(getattr(instance, name)) for name in fields}


def _plain(value: Any) -> Any:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else value


def _not_negative(errors: dict[str, list[str]], name: str, value: Decimal | int | None) -> None:
    if value is not None and value < 0:
        errors.setdefault(name, []).append("Cannot be negative.")


def _raise(errors: dict[str, list[str]], what: str) -> None:
    if errors:
        raise ValidationFailed(f"Invalid {what}: " + ", ".join(sorted(errors)), fields=errors)


# --- Credit types ------------------------------------------------------------------------------------------------


def _credit_type_save(credit_type: CreditType) -> None:
    credit_type.key = (credit_type.key or "").strip()
    errors: dict[str, list[str]] = {}
    # The database refuses these too, but as unnamed constraint errors: name the field here.
    _not_negative(errors, "overdraft_limit", credit_type.overdraft_limit)
    _not_negative(errors, "low_balance_threshold", credit_type.low_balance_threshold)
    if credit_type.default_expiry_days is not None and credit_type.default_expiry_days < 1:
        errors.setdefault("default_expiry_days", []).append("At least one day; leave empty for no expiry.")
    _raise(errors, "credit type")
    instance_save_validated(credit_type, code_fields=_UNIQUE_KEY_CODES)


def _prices_snapshot(credit_type: CreditType) -> dict[str, str]:
    return {price.currency: _plain(price.unit_amount_minor) for price in credit_type.prices.order_by("currency")}


def _credit_type_snapshot(credit_type: CreditType) -> dict[str, Any]:
    return {**_snapshot(credit_type, _CREDIT_TYPE_AUDIT), "prices": _prices_snapshot(credit_type)}


def _prices_apply(credit_type: CreditType, prices: Mapping[str, Decimal | None]) -> None:
    """Merge ``prices`` (currency → unit amount in minor units; ``None`` removes that currency) into the stored ones."""
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Decimal | None] = {}
    for raw_currency, amount in prices.items():
        currency = raw_currency.strip().lower()
        name = f"prices.{raw_currency}"
        if not _CURRENCY.match(currency):
            errors.setdefault(name, []).append("The currency must be a three-letter ISO code, e.g. usd.")
        elif currency in wanted:
            errors.setdefault(name, []).append(f"The currency '{currency}' is given twice.")
        elif amount is not None and amount < 0:
            errors.setdefault(name, []).append("A price cannot be negative.")
        else:
            wanted[currency] = amount
    _raise(errors, "credit prices")
    # A prefetched list of prices would go stale below.
    getattr(credit_type, "_prefetched_objects_cache", {}).pop("prices", None)
    for currency, amount in wanted.items():
        stored = CreditPrice.objects.filter(credit_type=credit_type, currency=currency).first()
        if amount is None:
            if stored is not None:
                stored.delete()
            continue
        price = stored or CreditPrice(credit_type=credit_type, currency=currency)
        price.unit_amount_minor = amount
        try:
            instance_save_validated(price)
        except ValidationFailed as error:
            raise ValidationFailed(
                error.message, fields={f"prices.{currency}": [m for ms in error.fields.values() for m in ms]}
            ) from error


def credit_type_create(
    *, actor: Actor, prices: Mapping[str, Decimal | None] | None = None, note: str = "", **fields: Any
) -> CreditType:
    """Create a credit type, with its price per currency (``{"usd": Decimal("0.5")}``, minor units per credit).

    ``ValidationFailed`` naming the field for a bad or duplicate key, a negative overdraft or threshold, or a bad price.
    """
    credit_type = CreditType()
    instance_fields_set(credit_type, fields, _CREDIT_TYPE_FIELDS)
    with transaction.atomic():
        _credit_type_save(credit_type)
        _prices_apply(credit_type, prices or {})
        audit_record(
            actor=actor,
            action="credit_type.created",
            target=credit_type,
            after=_credit_type_snapshot(credit_type),
            note=note,
        )
    catalog_change_log("credit type created", actor, credit_type=credit_type.public_id, key=credit_type.key)
    return credit_type


def credit_type_update(
    *,
    actor: Actor,
    credit_type: CreditType,
    prices: Mapping[str, Decimal | None] | None = None,
    note: str = "",
    **changes: Any,
) -> CreditType:
    """Change a credit type. ``prices`` merges into the stored prices; a ``None`` amount removes that currency.

    New values apply to what happens next: existing grants keep the expiry they were given.
    """
    with transaction.atomic():
        stored = CreditType.objects.select_for_update().get(pk=credit_type.pk)
        before = _credit_type_snapshot(stored)
        instance_fields_set(credit_type, changes, _CREDIT_TYPE_FIELDS)
        _credit_type_save(credit_type)
        _prices_apply(credit_type, prices or {})
        audit_record_changes(
            actor=actor,
            action="credit_type.updated",
            target=credit_type,
            before=before,
            after=_credit_type_snapshot(credit_type),
            note=note,
        )
    catalog_change_log("credit type updated", actor, credit_type=credit_type.public_id, changed=sorted(changes))
    return credit_type


# --- Credit bundles ----------------------------------------------------------------------------------------------


def _credit_bundle_save(bundle: CreditBundle) -> None:
    bundle.key = (bundle.key or "").strip()
    bundle.currency = (bundle.currency or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if bundle.quantity is not None and bundle.quantity <= 0:
        errors["quantity"] = ["A bundle holds a positive number of credits."]
    if bundle.expiry_days is not None and bundle.expiry_days < 1:
        errors["expiry_days"] = ["At least one day; leave empty for the credit type's default."]
    _raise(errors, "credit bundle")
    instance_save_validated(bundle)


def credit_bundle_create(*, actor: Actor, credit_type: CreditType, note: str = "", **fields: Any) -> CreditBundle:
    """Create a pack of credits for sale. ``ValidationFailed`` naming the field for a duplicate key, a quantity that is
    not positive, or a bad currency."""
    bundle = CreditBundle(credit_type=credit_type)
    instance_fields_set(bundle, fields, _CREDIT_BUNDLE_FIELDS - {"credit_type"})
    with transaction.atomic():
        _credit_bundle_save(bundle)
        audit_record(
            actor=actor,
            action="credit_bundle.created",
            target=bundle,
            after=_snapshot(bundle, _CREDIT_BUNDLE_AUDIT),
            note=note,
        )
    catalog_change_log("credit bundle created", actor, credit_bundle=bundle.public_id, key=bundle.key)
    return bundle


def credit_bundle_update(*, actor: Actor, bundle: CreditBundle, note: str = "", **changes: Any) -> CreditBundle:
    """Change a bundle (``is_active=False`` withdraws it from sale). Credits already bought keep their grants."""
    with transaction.atomic():
        stored = CreditBundle.objects.select_for_update().get(pk=bundle.pk)
        instance_fields_set(bundle, changes, _CREDIT_BUNDLE_FIELDS)
        _credit_bundle_save(bundle)
        audit_record_changes(
            actor=actor,
            action="credit_bundle.updated",
            target=bundle,
            before=_snapshot(stored, _CREDIT_BUNDLE_AUDIT),
            after=_snapshot(bundle, _CREDIT_BUNDLE_AUDIT),
            note=note,
        )
    catalog_change_log("credit bundle updated", actor, credit_bundle=bundle.public_id, changed=sorted(changes))
    return bundle


# --- Credits included in plans -----------------------------------------------------------------------------------


def _plan_credit_grant_save(grant: PlanCreditGrant) -> None:
    errors: dict[str, list[str]] = {}
    if grant.quantity is not None and grant.quantity <= 0:
        errors["quantity"] = ["A plan includes a positive number of credits."]
    _raise(errors, "plan credit grant")
    instance_save_validated(grant)


def plan_credit_grant_create(
    *, actor: Actor, plan: Plan, credit_type: CreditType, note: str = "", **fields: Any
) -> PlanCreditGrant:
    """Make a plan include ``quantity`` credits of a type per ``interval``. One per plan and credit type."""
    with transaction.atomic():
        if PlanCreditGrant.objects.filter(plan=plan, credit_type=credit_type).exists():
            raise ValidationFailed(
                f"Plan '{plan.key}' already includes credits of type '{credit_type.key}'.", field="credit_type"
            )
        grant = PlanCreditGrant(plan=plan, credit_type=credit_type)
        instance_fields_set(grant, fields, _PLAN_CREDIT_GRANT_FIELDS)
        _plan_credit_grant_save(grant)
        audit_record(
            actor=actor,
            action="plan_credit_grant.created",
            target=grant,
            target_id=f"{plan.public_id}/{credit_type.public_id}",
            after=_snapshot(grant, _PLAN_CREDIT_GRANT_AUDIT),
            note=note,
        )
    catalog_change_log(
        "plan credit grant created",
        actor,
        plan_credit_grant=f"{plan.public_id}/{credit_type.public_id}",
        plan=plan.public_id,
        credit_type=credit_type.public_id,
    )
    return grant


def plan_credit_grant_update(
    *, actor: Actor, grant: PlanCreditGrant, note: str = "", **changes: Any
) -> PlanCreditGrant:
    """Change how many credits a plan includes, how often, or how much rolls over. Applies from the next period."""
    with transaction.atomic():
        stored = PlanCreditGrant.objects.select_for_update().get(pk=grant.pk)
        instance_fields_set(grant, changes, _PLAN_CREDIT_GRANT_FIELDS)
        _plan_credit_grant_save(grant)
        audit_record_changes(
            actor=actor,
            action="plan_credit_grant.updated",
            target=grant,
            before=_snapshot(stored, _PLAN_CREDIT_GRANT_VALUES_AUDIT),
            after=_snapshot(grant, _PLAN_CREDIT_GRANT_VALUES_AUDIT),
            note=note,
        )
    catalog_change_log(
        "plan credit grant updated",
        actor,
        plan_credit_grant=f"{grant.plan.public_id}/{grant.credit_type.public_id}",
        changed=sorted(changes),
    )
    return grant


def plan_credit_grant_delete(*, actor: Actor, grant: PlanCreditGrant, note: str = "") -> None:
    """Stop a plan including credits of a type. Credits already granted stay with the companies."""
    with transaction.atomic():
        before = _snapshot(grant, _PLAN_CREDIT_GRANT_AUDIT)
        label = str(grant)
        target_id = f"{grant.plan.public_id}/{grant.credit_type.public_id}"
        instance_delete_guarded(grant, what=f"Plan credit grant '{label}'")
        audit_record(
            actor=actor,
            action="plan_credit_grant.deleted",
            target_type="plancreditgrant",
            target_id=target_id,
            target_label=label,
            before=before,
            note=note,
        )
    catalog_change_log("plan credit grant deleted", actor, plan_credit_grant=target_id)

"""Creating, changing and deleting companies with their keys and traits.

Each write records one audit entry under the company's history: name, keys and traits before → after. Key and trait
merges belong to the company write that carried them; an update that changes nothing (a repeated ``identify``)
records nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from core.actors import Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import atomic_or_conflict, instance_delete_guarded
from entitlements.documents.cache import key_lookups_forget_on_commit
from entitlements.events import CompanyChanged, CompanyCreated, CompanyDeleted
from entitlements.models import Company, CompanyTrait
from entitlements.rules.traits import trait_value_decode
from entitlements.selectors import company_ids_for_keys
from entitlements.services.keys import company_keys_merge, keys_validate
from entitlements.services.subscriptions import subscription_start_initial
from entitlements.services.traits import company_traits_merge

logger = logging.getLogger(__name__)

MAX_NAME = 255


def _name_clean(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("A company needs a non-empty name.", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"At most {MAX_NAME} characters.", field="name")
    return name.strip()


def _traits_shape(traits: Any) -> Mapping[str, Any]:
    if not isinstance(traits, Mapping):
        raise ValidationFailed("Traits must be an object.", field="traits")
    return traits


def _company_state(company: Company) -> dict[str, Any]:
    """What the audit log shows of a company: its name, keys and traits (typed values), as stored now."""
    traits = CompanyTrait.objects.filter(company=company).values_list(
        "definition__key", "definition__trait_type", "value"
    )
    return {
        "name": company.name,
        "has_payment_method": company.has_payment_method,
        "keys": dict(company.keys.order_by("name").values_list("name", "value")),
        "traits": {key: trait_value_decode(trait_type, value) for key, trait_type, value in traits},
    }


def company_create(
    *,
    actor: Actor,
    name: str,
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    now: dt.datetime,
    note: str = "",
) -> Company:
    """Create a company with its keys and traits and put it on the initial plan (if the catalog has one).

    Raises ``ValidationFailed`` (nothing written) for an empty name, non-string key values, a key that identifies
    another company, or a trait value that does not fit its type.
    """
    clean_name = _name_clean(name)
    clean_keys = keys_validate(keys or {})
    clean_traits = _traits_shape(traits or {})
    with atomic_or_conflict():
        company = Company.objects.create(name=clean_name)
        event_emit(CompanyCreated(company_id=company.pk))
        company_keys_merge(company=company, keys=clean_keys)
        company_traits_merge(company=company, traits=clean_traits)
        subscription_start_initial(company=company, now=now)
        audit_record(
            actor=actor,
            action="company.created",
            target=company,
            company_id=company.public_id,
            after=_company_state(company),
            note=note,
        )
    logger.info("company created", extra={"actor": str(actor), "company": company.public_id})
    return company


def company_update(
    *,
    actor: Actor,
    company: Company,
    name: str | None = None,
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    has_payment_method: bool | None = None,
    note: str = "",
) -> Company:
    """Rename a company, mark whether a payment method is on file (trials then convert to paid), and merge-patch its
    keys and traits (a ``None`` value removes that key or trait).

    Records ``company.updated`` unless nothing changed.
    """
    clean_name = _name_clean(name) if name is not None else None
    clean_keys = keys_validate(keys, allow_removal=True) if keys is not None else {}
    clean_traits = _traits_shape(traits) if traits is not None else {}
    with atomic_or_conflict():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        before = _company_state(locked)
        if clean_name is not None and clean_name != locked.name:
            locked.name = clean_name
            locked.save(update_fields=["name", "updated_at"])
            event_emit(CompanyChanged(company_id=locked.pk, what=frozenset({"profile"})))
        if has_payment_method is not None and has_payment_method != locked.has_payment_method:
            locked.has_payment_method = has_payment_method
            locked.save(update_fields=["has_payment_method", "updated_at"])
            event_emit(CompanyChanged(company_id=locked.pk, what=frozenset({"payment_method"})))
        company_keys_merge(company=locked, keys=clean_keys)
        company_traits_merge(company=locked, traits=clean_traits)
        after = _company_state(locked)
        if after != before:
            audit_record(
                actor=actor,
                action="company.updated",
                target=locked,
                company_id=locked.public_id,
                before=before,
                after=after,
                note=note,
            )
    logger.info("company updated", extra={"actor": str(actor), "company": company.public_id})
    return locked


def company_delete(*, actor: Actor, company: Company, note: str = "") -> None:
    """Delete a company with its keys, traits and subscriptions."""
    public_id = company.public_id
    with transaction.atomic():
        before = _company_state(company)
        key_lookups_forget_on_commit(company_pairs=company.keys.values_list("name", "value"))
        event_emit(CompanyDeleted(company_id=company.pk, public_id=public_id))
        instance_delete_guarded(company, what=f"Company '{company.name}'")
        audit_record(
            actor=actor,
            action="company.deleted",
            target_type="company",
            target_id=public_id,
            target_label=before["name"],
            company_id=public_id,
            before=before,
            note=note,
        )
    logger.info("company deleted", extra={"actor": str(actor), "company": public_id})


def company_identify(
    *,
    actor: Actor,
    keys: Mapping[str, str],
    name: str | None,
    traits: Mapping[str, Any],
    now: dt.datetime,
    note: str = "",
) -> Company:
    """Upsert a company from an SDK ``identify``: found by any of its keys, else created on the initial plan.

    Keys and traits are added or changed, never removed; a given name replaces the old one. ``ValidationFailed``
    when the keys name two different companies or a value does not fit. Records ``company.created`` or
    ``company.updated``, and nothing when the company already looked like this.
    """
    clean_keys = keys_validate(dict(keys), field="body.company.keys")
    matches = set(company_ids_for_keys(clean_keys.items()).values())  # type: ignore[arg-type]
    if len(matches) > 1:
        raise ValidationFailed("These keys identify different companies.", field="body.company.keys")
    if not matches:
        first_value = next(iter(clean_keys.values()), None) or "Unnamed company"
        return company_create(actor=actor, name=name or first_value, keys=clean_keys, traits=traits, now=now, note=note)
    company = Company.objects.get(pk=matches.pop())
    return company_update(
        actor=actor,
        company=company,
        name=name if name and name != company.name else None,
        keys=clean_keys,
        traits=traits,
        note=note,
    )

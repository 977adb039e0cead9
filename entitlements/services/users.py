"""Creating and changing the users of companies, with their keys and traits.

Each write records one audit entry: name, keys, traits and companies before → after. Key and trait merges belong to
the user write that carried them; an update that changes nothing (a repeated ``identify``) records nothing. The entry
is filed under a company's history only when the write joins the user to a company (the first one joined).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from core.actors import Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import atomic_or_conflict, instance_delete_guarded
from entitlements.documents.cache import key_lookups_forget_on_commit
from entitlements.events import UserChanged, UserDeleted
from entitlements.models import Company, User, UserTrait
from entitlements.rules.traits import trait_value_decode
from entitlements.selectors import user_ids_for_keys
from entitlements.services.keys import keys_validate, user_keys_merge
from entitlements.services.traits import user_traits_merge

logger = logging.getLogger(__name__)


def _user_state(user: User) -> dict[str, Any]:
    """What the audit log shows of a user: name, keys, traits (typed values) and companies, as stored now."""
    traits = UserTrait.objects.filter(user=user).values_list("definition__key", "definition__trait_type", "value")
    return {
        "name": user.name,
        "keys": dict(user.keys.order_by("name").values_list("name", "value")),
        "traits": {key: trait_value_decode(trait_type, value) for key, trait_type, value in traits},
        "companies": sorted(user.companies.values_list("public_id", flat=True)),
    }


def _first_joined(companies: Sequence[Company], before: Sequence[str]) -> str:
    """The public id of the first of ``companies`` the user was not in before; empty when none."""
    return next((company.public_id for company in companies if company.public_id not in before), "")


def user_create(
    *,
    actor: Actor,
    name: str = "",
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    companies: Sequence[Company] = (),
    note: str = "",
) -> User:
    """Create a user with keys, traits and company memberships; ``ValidationFailed`` writes nothing."""
    clean_keys = keys_validate(keys or {})
    with atomic_or_conflict():
        user = User.objects.create(name=(name or "").strip())
        user_keys_merge(user=user, keys=clean_keys)
        user_traits_merge(user=user, traits=traits or {})
        user.companies.set(companies)
        audit_record(
            actor=actor,
            action="user.created",
            target=user,
            company_id=_first_joined(companies, ()),
            after=_user_state(user),
            note=note,
        )
    logger.info("user created", extra={"actor": str(actor), "user": user.public_id})
    return user


def _user_update(
    *,
    actor: Actor,
    user: User,
    name: str | None,
    keys: Mapping[str, Any] | None,
    traits: Mapping[str, Any] | None,
    companies: Sequence[Company] | None,
    join: Company | None,
    note: str,
) -> User:
    """``user_update``, also adding the user to ``join`` in the same transaction and audit entry."""
    clean_keys = keys_validate(keys, allow_removal=True) if keys is not None else {}
    with atomic_or_conflict():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = _user_state(locked)
        if name is not None and name.strip() != locked.name:
            locked.name = name.strip()
            locked.save(update_fields=["name", "updated_at"])
            event_emit(UserChanged(user_id=locked.pk))
        user_keys_merge(user=locked, keys=clean_keys)
        user_traits_merge(user=locked, traits=traits or {})
        if companies is not None:
            locked.companies.set(companies)
        if join is not None:
            locked.companies.add(join)
        after = _user_state(locked)
        if after != before:
            joined = [*(companies or ()), *([join] if join is not None else [])]
            audit_record(
                actor=actor,
                action="user.updated",
                target=locked,
                company_id=_first_joined(joined, before["companies"]),
                before=before,
                after=after,
                note=note,
            )
    logger.info("user updated", extra={"actor": str(actor), "user": user.public_id})
    return locked


def user_update(
    *,
    actor: Actor,
    user: User,
    name: str | None = None,
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    companies: Sequence[Company] | None = None,
    note: str = "",
) -> User:
    """Rename a user, merge-patch keys and traits (``None`` removes), and replace memberships when given.

    Records ``user.updated`` unless nothing changed.
    """
    return _user_update(
        actor=actor, user=user, name=name, keys=keys, traits=traits, companies=companies, join=None, note=note
    )


def user_delete(*, actor: Actor, user: User, note: str = "") -> None:
    """Delete a user with their keys and traits."""
    public_id = user.public_id
    with transaction.atomic():
        before = _user_state(user)
        label = str(user)
        key_lookups_forget_on_commit(user_pairs=user.keys.values_list("name", "value"))
        event_emit(UserDeleted(user_id=user.pk))
        instance_delete_guarded(user, what=f"User '{user}'")
        audit_record(
            actor=actor,
            action="user.deleted",
            target_type="user",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    logger.info("user deleted", extra={"actor": str(actor), "user": public_id})


def user_identify(
    *,
    actor: Actor,
    keys: Mapping[str, str],
    name: str | None,
    traits: Mapping[str, Any],
    company: Company | None,
    note: str = "",
) -> User:
    """Upsert a user from an SDK ``identify``: found by any key, else created; joined to ``company`` when given.

    Records ``user.created`` or ``user.updated`` (the join included), and nothing when the user already looked like
    this.
    """
    clean_keys = keys_validate(dict(keys), field="body.keys")
    matches = set(user_ids_for_keys(clean_keys.items()).values())  # type: ignore[arg-type]
    if len(matches) > 1:
        raise ValidationFailed("These keys identify different users.", field="body.keys")
    if not matches:
        return user_create(
            actor=actor,
            name=name or "",
            keys=clean_keys,
            traits=traits,
            companies=[company] if company else [],
            note=note,
        )
    user = User.objects.get(pk=matches.pop())
    return _user_update(
        actor=actor,
        user=user,
        name=name or None,
        keys=clean_keys,
        traits=traits,
        companies=None,
        join=company,
        note=note,
    )

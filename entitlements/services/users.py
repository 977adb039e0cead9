"""Creating and changing the users of companies, with their keys and traits."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from core.actors import Actor
from core.errors import ValidationFailed
from core.persistence import atomic_or_conflict, instance_delete_guarded
from entitlements.document_cache import key_lookups_forget_on_commit, user_changed_on_commit
from entitlements.models import Company, User
from entitlements.selectors import user_ids_for_keys
from entitlements.services.keys import keys_validate, user_keys_merge
from entitlements.services.traits import user_traits_merge

logger = logging.getLogger(__name__)


def user_create(
    *,
    actor: Actor,
    name: str = "",
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    companies: Sequence[Company] = (),
) -> User:
    """Create a user with keys, traits and company memberships; ``ValidationFailed`` writes nothing."""
    clean_keys = keys_validate(keys or {})
    with atomic_or_conflict():
        user = User.objects.create(name=(name or "").strip())
        user_keys_merge(user=user, keys=clean_keys)
        user_traits_merge(user=user, traits=traits or {})
        user.companies.set(companies)
    logger.info("user created", extra={"actor": str(actor), "user": user.public_id})
    return user


def user_update(
    *,
    actor: Actor,
    user: User,
    name: str | None = None,
    keys: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    companies: Sequence[Company] | None = None,
) -> User:
    """Rename a user, merge-patch keys and traits (``None`` removes), and replace memberships when given."""
    clean_keys = keys_validate(keys, allow_removal=True) if keys is not None else {}
    with atomic_or_conflict():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if name is not None and name.strip() != locked.name:
            locked.name = name.strip()
            locked.save(update_fields=["name", "updated_at"])
            user_changed_on_commit(locked.pk)
        user_keys_merge(user=locked, keys=clean_keys)
        user_traits_merge(user=locked, traits=traits or {})
        if companies is not None:
            locked.companies.set(companies)
    logger.info("user updated", extra={"actor": str(actor), "user": user.public_id})
    return locked


def user_delete(*, actor: Actor, user: User) -> None:
    """Delete a user with their keys and traits."""
    public_id = user.public_id
    with transaction.atomic():
        key_lookups_forget_on_commit(user_pairs=user.keys.values_list("name", "value"))
        user_changed_on_commit(user.pk)
        instance_delete_guarded(user, what=f"User '{user}'")
    logger.info("user deleted", extra={"actor": str(actor), "user": public_id})


def user_identify(
    *, actor: Actor, keys: Mapping[str, str], name: str | None, traits: Mapping[str, Any], company: Company | None
) -> User:
    """Upsert a user from an SDK ``identify``: found by any key, else created; joined to ``company`` when given."""
    clean_keys = keys_validate(dict(keys), field="body.keys")
    matches = set(user_ids_for_keys(clean_keys.items()).values())  # type: ignore[arg-type]
    if len(matches) > 1:
        raise ValidationFailed("These keys identify different users.", field="body.keys")
    if not matches:
        return user_create(
            actor=actor, name=name or "", keys=clean_keys, traits=traits, companies=[company] if company else []
        )
    user = User.objects.get(pk=matches.pop())
    user = user_update(actor=actor, user=user, name=name or None, keys=clean_keys, traits=traits)
    if company is not None:
        user.companies.add(company)
    return user

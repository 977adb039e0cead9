"""Creating and changing the users of companies, with their keys and traits."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from core.actors import Actor
from core.persistence import atomic_or_conflict, instance_delete_guarded
from entitlements.models import Company, User
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
        user_keys_merge(user=locked, keys=clean_keys)
        user_traits_merge(user=locked, traits=traits or {})
        if companies is not None:
            locked.companies.set(companies)
    logger.info("user updated", extra={"actor": str(actor), "user": user.public_id})
    return locked


def user_delete(*, actor: Actor, user: User) -> None:
    """Delete a user with their keys and traits."""
    public_id = user.public_id
    instance_delete_guarded(user, what=f"User '{user}'")
    logger.info("user deleted", extra={"actor": str(actor), "user": public_id})

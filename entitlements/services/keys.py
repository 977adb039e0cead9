"""Writing the identifying keys of companies and users (``{"external_id": "acme-1"}``).

A (name, value) pair identifies one owner, compared case-insensitively, because the SDKs lower-case keys in their
caches (PROTOCOL.md §6.5). An owner has at most one value per key name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models.functions import Lower

from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import text_storable
from entitlements.documents.cache import key_lookups_forget_on_commit
from entitlements.events import CompanyChanged, UserChanged
from entitlements.models import Company, CompanyKey, User, UserKey

MAX_KEY_NAME = 100
MAX_KEY_VALUE = 255


def keys_validate(keys: Any, *, field: str = "keys", allow_removal: bool = False) -> dict[str, str | None]:
    """Check the shape of a key map: string names and string values (``None`` only when removals are allowed)."""
    if not isinstance(keys, Mapping):
        raise ValidationFailed("Keys must be an object of strings.", field=field)
    errors: dict[str, list[str]] = {}
    clean: dict[str, str | None] = {}
    for name, value in keys.items():
        where = f"{field}.{name}"
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_KEY_NAME or not text_storable(name):
            errors.setdefault(field, []).append(f"Key names must be non-empty strings of at most {MAX_KEY_NAME} chars.")
        elif value is None and allow_removal:
            clean[name.strip()] = None
        elif not isinstance(value, str):
            errors.setdefault(where, []).append(f"Key values must be strings, not {type(value).__name__}.")
        elif not value.strip() or len(value) > MAX_KEY_VALUE:
            errors.setdefault(where, []).append(f"Key values must be non-empty, at most {MAX_KEY_VALUE} chars.")
        elif not text_storable(value):
            errors.setdefault(where, []).append("Key values must not contain NUL characters.")
        else:
            clean[name.strip()] = value.strip()
    # Compare the names as given (trimmed), before ``clean`` could fold " id " into "id" and drop a value.
    given = [name.strip() for name in keys if isinstance(name, str) and name.strip()]
    lowered = [name.lower() for name in given]
    for name in dict.fromkeys(given):
        if lowered.count(name.lower()) > 1:
            errors.setdefault(f"{field}.{name}", []).append("The same key name is given twice (names ignore case).")
    if errors:
        raise ValidationFailed("Invalid keys: " + ", ".join(sorted(errors)), fields=errors)
    return clean


def _merge(
    *,
    model: type[CompanyKey] | type[UserKey],
    owner_field: str,
    owner: Company | User,
    keys: dict[str, str | None],
    field: str,
) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in keys.items():
        if value is None:
            continue
        taken = (
            model.objects.annotate(name_lower=Lower("name"), value_lower=Lower("value"))
            .filter(name_lower=name.lower(), value_lower=value.lower())
            .exclude(**{owner_field: owner})
            .select_related(owner_field)
            .first()
        )
        if taken is not None:
            holder = getattr(taken, owner_field)
            errors.setdefault(f"{field}.{name}", []).append(
                f"Duplicate key: {name}={value} already identifies {holder.public_id}."
            )
    if errors:
        raise ValidationFailed("Duplicate keys: " + ", ".join(sorted(errors)), code="duplicate_key", fields=errors)
    pairs_before = _pairs(model, owner_field, owner)
    if _unchanged(pairs_before, keys):
        return  # identify repeats the same keys on every call: nothing changes, nothing to announce
    touched = [(name, value) for name, value in keys.items() if value is not None]
    for name, value in keys.items():
        existing = model.objects.annotate(name_lower=Lower("name")).filter(
            **{owner_field: owner}, name_lower=name.lower()
        )
        touched.extend(existing.values_list("name", "value"))
        if value is None:
            existing.delete()
        elif not existing.update(name=name, value=value):
            model.objects.create(**{owner_field: owner}, name=name, value=value)
    keys_removed = bool(_indexed(pairs_before) - _indexed(_pairs(model, owner_field, owner)))
    if owner_field == "company":
        key_lookups_forget_on_commit(company_pairs=touched)
        event_emit(CompanyChanged(company_id=owner.pk, what=frozenset({"keys"}), keys_removed=keys_removed))
    else:
        key_lookups_forget_on_commit(user_pairs=touched)
        event_emit(UserChanged(user_id=owner.pk, keys_removed=keys_removed))


def _pairs(model: type[CompanyKey] | type[UserKey], owner_field: str, owner: Company | User) -> dict[str, str]:
    """The owner's keys, name → value."""
    return dict(model.objects.filter(**{owner_field: owner}).values_list("name", "value"))


def _unchanged(pairs: dict[str, str], keys: dict[str, str | None]) -> bool:
    """Whether merging ``keys`` into ``pairs`` would leave them exactly as they are."""
    names = {name.lower() for name in pairs}
    return all(
        pairs.get(name) == value if value is not None else name.lower() not in names for name, value in keys.items()
    )


def _indexed(pairs: dict[str, str]) -> set[tuple[str, str]]:
    """Key pairs lower-cased, as SDKs index them."""
    return {(name.lower(), value.lower()) for name, value in pairs.items()}


def company_keys_merge(*, company: Company, keys: dict[str, str | None], field: str = "keys") -> None:
    """Add or change the given keys (``None`` removes one); refuses a pair that names another company."""
    _merge(model=CompanyKey, owner_field="company", owner=company, keys=keys, field=field)


def user_keys_merge(*, user: User, keys: dict[str, str | None], field: str = "keys") -> None:
    """Add or change the given user keys (``None`` removes one); refuses a pair that names another user."""
    _merge(model=UserKey, owner_field="user", owner=user, keys=keys, field=field)

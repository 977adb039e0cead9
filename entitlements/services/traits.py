"""Writing trait values of companies and users, creating trait definitions on first sight."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import text_storable
from entitlements.events import CompanyChanged, UserChanged
from entitlements.models import Company, CompanyTrait, TraitDefinition, User, UserTrait
from entitlements.rules.traits import TraitValueError, trait_type_infer, trait_value_encode

MAX_TRAIT_KEY = 100  # TraitDefinition.key
MAX_TRAIT_VALUE = 1000  # CompanyTrait.value and UserTrait.value, as stored


def trait_definition_ensure(*, key: str, entity_type: str, sample_value: Any) -> TraitDefinition:
    """The definition for ``key``; created with the type ``sample_value`` implies if it does not exist yet."""
    existing = TraitDefinition.objects.filter(entity_type=entity_type, key__iexact=key).first()
    if existing is not None:
        return existing
    return TraitDefinition.objects.create(key=key, entity_type=entity_type, trait_type=trait_type_infer(sample_value))


def _encode_all(traits: Mapping[str, Any], *, entity_type: str, field: str) -> dict[TraitDefinition, str | None]:
    """Validate every value first, so that a bad one writes nothing. ``None`` marks a trait to remove."""
    errors: dict[str, list[str]] = {}
    encoded: dict[TraitDefinition, str | None] = {}
    for key, value in traits.items():
        name = f"{field}.{key}"
        if not isinstance(key, str) or not key.strip() or len(key.strip()) > MAX_TRAIT_KEY or not text_storable(key):
            errors.setdefault(field, []).append(
                f"Trait keys must be non-empty strings of at most {MAX_TRAIT_KEY} chars."
            )
            continue
        if value is None:
            definition = TraitDefinition.objects.filter(entity_type=entity_type, key__iexact=key).first()
            if definition is not None:
                encoded[definition] = None
            continue
        definition = trait_definition_ensure(key=key.strip(), entity_type=entity_type, sample_value=value)
        try:
            stored = trait_value_encode(definition.trait_type, value)
        except TraitValueError as error:
            errors.setdefault(name, []).append(f"Trait '{definition.key}' is of type {definition.trait_type}: {error}.")
            continue
        if len(stored) > MAX_TRAIT_VALUE or not text_storable(stored):
            errors.setdefault(name, []).append(f"Trait values must be at most {MAX_TRAIT_VALUE} chars, without NUL.")
            continue
        encoded[definition] = stored
    if errors:
        raise ValidationFailed("Invalid traits: " + ", ".join(sorted(errors)), fields=errors)
    return encoded


def _changes(encoded: dict[TraitDefinition, str | None], held: dict[int, str]) -> dict[TraitDefinition, str | None]:
    """The traits whose value differs from the one held (``None``: remove one that is held)."""
    return {definition: value for definition, value in encoded.items() if held.get(definition.pk) != value}


def company_traits_merge(*, company: Company, traits: Mapping[str, Any], field: str = "traits") -> None:
    """Set the given traits (merge-patch: ``None`` removes one); other traits stay. Call inside a transaction."""
    held = dict(CompanyTrait.objects.filter(company=company).values_list("definition_id", "value"))
    changes = _changes(_encode_all(traits, entity_type="company", field=field), held)
    if not changes:
        return  # identify repeats the same traits on every call: nothing changes, nothing to announce
    event_emit(CompanyChanged(company_id=company.pk, what=frozenset({"traits"})))
    for definition, value in changes.items():
        if value is None:
            CompanyTrait.objects.filter(company=company, definition=definition).delete()
        else:
            CompanyTrait.objects.update_or_create(company=company, definition=definition, defaults={"value": value})


def user_traits_merge(*, user: User, traits: Mapping[str, Any], field: str = "traits") -> None:
    """Set the given user traits (merge-patch: ``None`` removes one). Call inside a transaction."""
    held = dict(UserTrait.objects.filter(user=user).values_list("definition_id", "value"))
    changes = _changes(_encode_all(traits, entity_type="user", field=field), held)
    if not changes:
        return  # identify repeats the same traits on every call: nothing changes, nothing to announce
    event_emit(UserChanged(user_id=user.pk))
    for definition, value in changes.items():
        if value is None:
            UserTrait.objects.filter(user=user, definition=definition).delete()
        else:
            UserTrait.objects.update_or_create(user=user, definition=definition, defaults={"value": value})

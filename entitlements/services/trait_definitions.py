"""Declaring traits: their key, type and whether companies or users carry them. Each write records an audit entry.

Definitions created on first sight of a trait (``trait_definition_ensure``) are part of the company or user write that
carried the trait and are not recorded separately.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from catalog.events import CatalogChanged, CatalogObject
from core.actors import Actor
from core.audit import audit_changes, audit_record, audit_snapshot
from core.errors import ValidationFailed
from core.events import event_emit
from core.persistence import instance_delete_guarded, instance_save_validated
from entitlements.models import TraitDefinition

logger = logging.getLogger(__name__)

_FIELDS = {"key", "trait_type", "entity_type"}
_AUDIT_FIELDS = sorted(_FIELDS)


def _catalog_changed(public_id: str, change: str) -> None:
    """Trait definitions are part of what documents are compiled from, like the catalog's own objects."""
    event_emit(CatalogChanged(objects=(CatalogObject(kind="trait_definition", public_id=public_id, change=change),)))


def trait_definition_create(
    *, actor: Actor, key: str, trait_type: str, entity_type: str, note: str = ""
) -> TraitDefinition:
    """Declare a trait. ``ValidationFailed`` if the key exists (ignoring case) for that entity type."""
    definition = TraitDefinition(key=(key or "").strip(), trait_type=trait_type, entity_type=entity_type)
    with transaction.atomic():
        instance_save_validated(definition, code_fields={"duplicate_key": "key"})
        audit_record(
            actor=actor,
            action="trait_definition.created",
            target=definition,
            after=audit_snapshot(definition, _AUDIT_FIELDS),
            note=note,
        )
    _catalog_changed(definition.public_id, "created")
    logger.info("trait definition created", extra={"actor": str(actor), "trait": definition.public_id})
    return definition


def trait_definition_update(
    *, actor: Actor, definition: TraitDefinition, note: str = "", **changes: Any
) -> TraitDefinition:
    """Rename a trait or change its type; type and entity cannot change once values are stored."""
    unknown = set(changes) - _FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: ["This field cannot be set."] for name in unknown})
    with transaction.atomic():
        stored = TraitDefinition.objects.select_for_update().get(pk=definition.pk)
        has_values = stored.company_values.exists() or stored.user_values.exists()
        for field in ("trait_type", "entity_type"):
            if field in changes and changes[field] != getattr(stored, field) and has_values:
                raise ValidationFailed("Cannot change while companies or users hold values of it.", field=field)
        for name, value in changes.items():
            setattr(definition, name, value)
        instance_save_validated(definition, code_fields={"duplicate_key": "key"})
        before, after = audit_changes(audit_snapshot(stored, _AUDIT_FIELDS), audit_snapshot(definition, _AUDIT_FIELDS))
        if before or after:
            audit_record(
                actor=actor, action="trait_definition.updated", target=definition, before=before, after=after, note=note
            )
    _catalog_changed(definition.public_id, "updated")
    logger.info("trait definition updated", extra={"actor": str(actor), "trait": definition.public_id})
    return definition


def trait_definition_delete(*, actor: Actor, definition: TraitDefinition, note: str = "") -> None:
    """Delete a trait definition; refused (``Conflict``) while values of it are stored."""
    public_id = definition.public_id
    with transaction.atomic():
        before = audit_snapshot(definition, _AUDIT_FIELDS)
        label = str(definition)
        instance_delete_guarded(definition, what=f"Trait '{definition.key}'")
        audit_record(
            actor=actor,
            action="trait_definition.deleted",
            target_type="traitdefinition",
            target_id=public_id,
            target_label=label,
            before=before,
            note=note,
        )
    _catalog_changed(public_id, "deleted")
    logger.info("trait definition deleted", extra={"actor": str(actor), "trait": public_id})

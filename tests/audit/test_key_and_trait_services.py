"""API keys and trait definitions: issuing, revoking, declaring, changing and deleting each leave one entry."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.actors import Actor
from core.errors import Conflict, ValidationFailed
from entitlements.models import ApiKey, TraitDefinition
from entitlements.services.api_keys import api_key_create, api_key_revoke
from entitlements.services.companies import company_create
from entitlements.services.trait_definitions import (
    trait_definition_create,
    trait_definition_delete,
    trait_definition_update,
)
from tests.audit.conftest import AuditLog

NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def test_api_key_create__named__created_entry_without_the_secret(audit: AuditLog, actor: Actor) -> None:
    issued = api_key_create(actor=actor, name="backend", note="for the billing service")

    entry = audit.one()
    assert entry.action == "api_key.created"
    assert (entry.target_type, entry.target_id) == ("apikey", issued.api_key.public_id)
    assert entry.before is None
    assert entry.after == {"name": "backend", "prefix": issued.api_key.prefix, "created_by": None}
    assert entry.note == "for the billing service"
    recorded = json.dumps([entry.before, entry.after, entry.target_label, entry.note])
    assert issued.secret not in recorded
    assert issued.api_key.secret_hash not in recorded


def test_api_key_create__empty_name__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    with pytest.raises(ValidationFailed):
        api_key_create(actor=actor, name="  ")

    assert audit.new() == []


def test_api_key_revoke__live_key__revoked_entry(audit: AuditLog, actor: Actor) -> None:
    api_key = api_key_create(actor=actor, name="backend").api_key
    audit.mark()

    api_key_revoke(actor=actor, api_key=api_key, now=NOW, note="leaked in a log")

    entry = audit.one()
    assert entry.action == "api_key.revoked"
    assert entry.target_id == api_key.public_id
    assert entry.before == {"revoked_at": None}
    assert entry.after == {"revoked_at": NOW.isoformat()}
    assert entry.note == "leaked in a log"


def test_api_key_revoke__twice__one_entry_and_the_first_time_kept(audit: AuditLog, actor: Actor) -> None:
    api_key = api_key_create(actor=actor, name="backend").api_key
    audit.mark()

    api_key_revoke(actor=actor, api_key=api_key, now=NOW)
    api_key_revoke(actor=actor, api_key=api_key, now=NOW + dt.timedelta(hours=1))

    assert [entry.action for entry in audit.new()] == ["api_key.revoked"]
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == NOW


def test_trait_definition_create__declared__created_entry(audit: AuditLog, actor: Actor) -> None:
    definition = trait_definition_create(actor=actor, key="seats", trait_type="int", entity_type="company")

    entry = audit.one()
    assert entry.action == "trait_definition.created"
    assert (entry.target_type, entry.target_id) == ("traitdefinition", definition.public_id)
    assert entry.before is None
    assert entry.after == {"entity_type": "company", "key": "seats", "trait_type": "int"}


def test_trait_definition_create__duplicate_key__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    trait_definition_create(actor=actor, key="seats", trait_type="int", entity_type="company")
    audit.mark()

    with pytest.raises(ValidationFailed):
        trait_definition_create(actor=actor, key="SEATS", trait_type="int", entity_type="company")

    assert audit.new() == []


def test_trait_definition_update__renamed__before_after(audit: AuditLog, actor: Actor) -> None:
    definition = trait_definition_create(actor=actor, key="seats", trait_type="int", entity_type="company")
    audit.mark()

    trait_definition_update(actor=actor, definition=definition, key="seat_count", note="naming scheme")

    entry = audit.one()
    assert entry.action == "trait_definition.updated"
    assert (entry.before, entry.after) == ({"key": "seats"}, {"key": "seat_count"})
    assert entry.note == "naming scheme"


def test_trait_definition_update__type_change_with_values__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    company_create(actor=actor, name="Acme", traits={"seats": 3}, now=NOW)
    seats = TraitDefinition.objects.get(key="seats")
    audit.mark()

    with pytest.raises(ValidationFailed):
        trait_definition_update(actor=actor, definition=seats, trait_type="string")

    assert audit.new() == []


def test_trait_definition_delete__unused__deleted_entry(audit: AuditLog, actor: Actor) -> None:
    definition = trait_definition_create(actor=actor, key="seats", trait_type="int", entity_type="company")
    public_id = definition.public_id
    audit.mark()

    trait_definition_delete(actor=actor, definition=definition)

    entry = audit.one()
    assert entry.action == "trait_definition.deleted"
    assert entry.target_id == public_id
    assert entry.before == {"entity_type": "company", "key": "seats", "trait_type": "int"}
    assert entry.after is None


def test_trait_definition_delete__values_stored__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    company_create(actor=actor, name="Acme", traits={"seats": 3}, now=NOW)
    seats = TraitDefinition.objects.get(key="seats")
    audit.mark()

    with pytest.raises(Conflict):
        trait_definition_delete(actor=actor, definition=seats)

    assert audit.new() == []

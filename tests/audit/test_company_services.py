"""Company and user writes leave one audit entry each, keys and traits included; repeated identifies record nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog import services as catalog_services
from core.actors import Actor, ActorKind
from core.audit import audit_entries_for_company
from core.errors import ValidationFailed
from entitlements.models import Company
from entitlements.services.companies import company_create, company_delete, company_identify, company_update
from entitlements.services.users import user_create, user_delete, user_identify, user_update
from tests.audit.conftest import AuditLog

NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
SDK = Actor(kind=ActorKind.API_KEY, identifier="key_abc", label="backend")


def _acme(actor: Actor) -> Company:
    return company_create(actor=actor, name="Acme", keys={"external_id": "acme"}, traits={"seats": 3}, now=NOW)


# --- Companies ---------------------------------------------------------------------------------------------------


def test_company_create__keys_and_traits__one_created_entry_in_its_history(audit: AuditLog, actor: Actor) -> None:
    company = company_create(
        actor=actor,
        name="Acme",
        keys={"external_id": "acme", "stripe_customer_id": "cus_1"},
        traits={"seats": 3, "region": "eu"},
        now=NOW,
        note="signed at the fair",
    )

    entry = audit.one()
    assert entry.action == "company.created"
    assert (entry.actor_kind, entry.actor_label) == ("admin", "ada")
    assert (entry.target_type, entry.target_id, entry.target_label) == ("company", company.public_id, "Acme")
    assert entry.company_id == company.public_id
    assert entry.before is None
    assert entry.after == {
        "name": "Acme",
        "has_payment_method": False,
        "keys": {"external_id": "acme", "stripe_customer_id": "cus_1"},
        "traits": {"seats": 3, "region": "eu"},
    }
    assert entry.note == "signed at the fair"


def test_company_create__on_the_initial_plan__still_one_company_entry(audit: AuditLog, actor: Actor) -> None:
    # Given a catalog with an initial plan (the company is put on it in the same write)
    catalog_services.plan_create(actor=actor, key="free", name="Free")
    audit.mark()

    company = _acme(actor)

    assert [entry.action for entry in audit.new() if entry.company_id == company.public_id] == ["company.created"]


def test_company_create__trait_of_the_wrong_type__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    _acme(actor)
    audit.mark()

    with pytest.raises(ValidationFailed):
        company_create(actor=actor, name="Globex", traits={"seats": "many"}, now=NOW)

    assert audit.new() == []


def test_company_create__key_of_another_company__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    _acme(actor)
    audit.mark()

    with pytest.raises(ValidationFailed):
        company_create(actor=actor, name="Impostor", keys={"external_id": "ACME"}, now=NOW)

    assert audit.new() == []
    assert Company.objects.count() == 1


def test_company_update__name_keys_and_traits__one_updated_entry_with_all_three(audit: AuditLog, actor: Actor) -> None:
    company = _acme(actor)
    audit.mark()

    company_update(
        actor=actor,
        company=company,
        name="Acme Corp",
        keys={"stripe_customer_id": "cus_9"},
        traits={"seats": 5, "region": "eu"},
        note="upgrade call",
    )

    entry = audit.one()
    assert entry.action == "company.updated"
    assert entry.target_id == entry.company_id == company.public_id
    assert entry.before == {
        "name": "Acme",
        "has_payment_method": False,
        "keys": {"external_id": "acme"},
        "traits": {"seats": 3},
    }
    assert entry.after == {
        "name": "Acme Corp",
        "has_payment_method": False,
        "keys": {"external_id": "acme", "stripe_customer_id": "cus_9"},
        "traits": {"seats": 5, "region": "eu"},
    }
    assert entry.note == "upgrade call"


def test_company_update__removals__after_lacks_the_removed_key_and_trait(audit: AuditLog, actor: Actor) -> None:
    company = _acme(actor)
    audit.mark()

    company_update(actor=actor, company=company, keys={"external_id": None}, traits={"seats": None})

    entry = audit.one()
    assert entry.before == {
        "name": "Acme",
        "has_payment_method": False,
        "keys": {"external_id": "acme"},
        "traits": {"seats": 3},
    }
    assert entry.after == {"name": "Acme", "has_payment_method": False, "keys": {}, "traits": {}}


def test_company_update__same_values__no_entry(audit: AuditLog, actor: Actor) -> None:
    company = _acme(actor)
    audit.mark()

    company_update(actor=actor, company=company, name="Acme", keys={"external_id": "acme"}, traits={"seats": "3"})

    assert audit.new() == []


def test_company_update__bad_trait__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    company = _acme(actor)
    audit.mark()

    with pytest.raises(ValidationFailed):
        company_update(actor=actor, company=company, name="Renamed", traits={"seats": "lots"})

    assert audit.new() == []
    company.refresh_from_db()
    assert company.name == "Acme"


def test_company_delete__existing__deleted_entry_keeps_its_last_state(audit: AuditLog, actor: Actor) -> None:
    company = _acme(actor)
    public_id = company.public_id
    audit.mark()

    company_delete(actor=actor, company=company, note="churned")

    entry = audit.one()
    assert entry.action == "company.deleted"
    assert (entry.target_type, entry.target_id, entry.company_id) == ("company", public_id, public_id)
    assert entry.before == {
        "name": "Acme",
        "has_payment_method": False,
        "keys": {"external_id": "acme"},
        "traits": {"seats": 3},
    }
    assert entry.after is None
    assert entry.note == "churned"


def test_company_identify__new_company__created_entry_by_the_sdk_key(audit: AuditLog) -> None:
    company = company_identify(actor=SDK, keys={"external_id": "acme"}, name="Acme", traits={"seats": 3}, now=NOW)

    entry = audit.one()
    assert entry.action == "company.created"
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("api_key", "key_abc", "backend")
    assert entry.company_id == company.public_id


def test_company_identify__twice_with_the_same_data__one_entry(audit: AuditLog) -> None:
    for _ in range(2):
        company_identify(actor=SDK, keys={"external_id": "acme"}, name="Acme", traits={"seats": 3}, now=NOW)

    assert [entry.action for entry in audit.new()] == ["company.created"]


def test_company_identify__trait_changed__one_updated_entry(audit: AuditLog) -> None:
    company = company_identify(actor=SDK, keys={"external_id": "acme"}, name="Acme", traits={"seats": 3}, now=NOW)
    audit.mark()

    company_identify(actor=SDK, keys={"external_id": "acme"}, name=None, traits={"seats": 4}, now=NOW)

    entry = audit.one()
    assert entry.action == "company.updated"
    assert entry.company_id == company.public_id
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["traits"], entry.after["traits"]) == ({"seats": 3}, {"seats": 4})


def test_audit_entries_for_company__several_companies__own_entries_newest_first(audit: AuditLog, actor: Actor) -> None:
    # Given two companies, one of them changed twice
    acme = _acme(actor)
    company_update(actor=actor, company=acme, traits={"seats": 4})
    company_update(actor=actor, company=acme, traits={"seats": 5})
    _ = company_create(actor=actor, name="Globex", now=NOW)

    # When Acme's history is read
    history = audit_entries_for_company(acme.public_id)

    # Then it holds only Acme's entries, newest first, and honours the limit
    assert [entry.action for entry in history] == ["company.updated", "company.updated", "company.created"]
    assert history[0].after is not None
    assert history[0].after["traits"] == {"seats": 5}
    assert [entry.pk for entry in audit_entries_for_company(acme.public_id, limit=1)] == [history[0].pk]
    assert audit_entries_for_company("") == []


# --- Users -------------------------------------------------------------------------------------------------------


def test_user_create__with_a_company__created_entry_filed_under_it(audit: AuditLog, actor: Actor) -> None:
    acme = _acme(actor)
    audit.mark()

    user = user_create(
        actor=actor, name="Ada", keys={"email": "ada@acme.test"}, traits={"role": "admin"}, companies=[acme]
    )

    entry = audit.one()
    assert entry.action == "user.created"
    assert (entry.target_type, entry.target_id, entry.target_label) == ("user", user.public_id, "Ada")
    assert entry.company_id == acme.public_id
    assert entry.before is None
    assert entry.after == {
        "name": "Ada",
        "keys": {"email": "ada@acme.test"},
        "traits": {"role": "admin"},
        "companies": [acme.public_id],
    }


def test_user_create__duplicate_key__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    user_create(actor=actor, name="Ada", keys={"email": "ada@acme.test"})
    audit.mark()

    with pytest.raises(ValidationFailed):
        user_create(actor=actor, name="Eve", keys={"email": "ada@acme.test"})

    assert audit.new() == []


def test_user_update__renamed__updated_entry_without_company(audit: AuditLog, actor: Actor) -> None:
    user = user_create(actor=actor, name="Ada", keys={"email": "ada@acme.test"}, companies=[_acme(actor)])
    audit.mark()

    user_update(actor=actor, user=user, name="Ada Lovelace", traits={"role": "owner"})

    entry = audit.one()
    assert entry.action == "user.updated"
    assert entry.target_id == user.public_id
    assert entry.company_id == ""
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == ("Ada", "Ada Lovelace")
    assert (entry.before["traits"], entry.after["traits"]) == ({}, {"role": "owner"})


def test_user_update__joins_a_company__entry_filed_under_the_joined_company(audit: AuditLog, actor: Actor) -> None:
    acme = _acme(actor)
    globex = company_create(actor=actor, name="Globex", now=NOW)
    user = user_create(actor=actor, name="Ada", companies=[acme])
    audit.mark()

    user_update(actor=actor, user=user, companies=[acme, globex])

    entry = audit.one()
    assert entry.company_id == globex.public_id
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["companies"] == [acme.public_id]
    assert sorted(entry.after["companies"]) == sorted([acme.public_id, globex.public_id])


def test_user_update__same_values__no_entry(audit: AuditLog, actor: Actor) -> None:
    user = user_create(actor=actor, name="Ada", keys={"email": "ada@acme.test"})
    audit.mark()

    user_update(actor=actor, user=user, name="Ada", keys={"email": "ada@acme.test"})

    assert audit.new() == []


def test_user_delete__existing__deleted_entry(audit: AuditLog, actor: Actor) -> None:
    user = user_create(actor=actor, name="Ada", keys={"email": "ada@acme.test"})
    public_id = user.public_id
    audit.mark()

    user_delete(actor=actor, user=user, note="GDPR request")

    entry = audit.one()
    assert entry.action == "user.deleted"
    assert entry.target_id == public_id
    assert entry.before is not None
    assert entry.before["keys"] == {"email": "ada@acme.test"}
    assert entry.after is None
    assert entry.note == "GDPR request"


def test_user_identify__twice_with_the_same_data__one_entry(audit: AuditLog) -> None:
    acme = company_identify(actor=SDK, keys={"external_id": "acme"}, name="Acme", traits={}, now=NOW)
    audit.mark()

    for _ in range(2):
        user_identify(actor=SDK, keys={"email": "ada@acme.test"}, name="Ada", traits={"role": "admin"}, company=acme)

    entry = audit.one()
    assert entry.action == "user.created"
    assert entry.company_id == acme.public_id


def test_user_identify__known_user_joins_a_company__one_updated_entry_with_the_join(audit: AuditLog) -> None:
    user_identify(actor=SDK, keys={"email": "ada@acme.test"}, name="Ada", traits={}, company=None)
    acme = company_identify(actor=SDK, keys={"external_id": "acme"}, name="Acme", traits={}, now=NOW)
    audit.mark()

    user = user_identify(actor=SDK, keys={"email": "ada@acme.test"}, name=None, traits={}, company=acme)

    entry = audit.one()
    assert entry.action == "user.updated"
    assert entry.company_id == acme.public_id
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["companies"], entry.after["companies"]) == ([], [acme.public_id])
    assert list(user.companies.all()) == [acme]

"""Catalog writes (features, plans, entitlements, prices) each leave one audit entry, inside their transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from catalog import services
from catalog.models import Feature, Plan
from core.actors import Actor
from core.errors import Conflict, ValidationFailed
from tests.audit.conftest import AuditLog


def _event_feature(actor: Actor) -> Feature:
    return services.feature_create(
        actor=actor, key="ai-generations", name="AI generations", feature_type="event", event_name="generation"
    )


def _free(actor: Actor) -> Plan:
    return services.plan_create(actor=actor, key="free", name="Free")


# --- Features ----------------------------------------------------------------------------------------------------


def test_feature_create__valid__one_created_entry_with_actor_and_after(audit: AuditLog, actor: Actor) -> None:
    # When a feature is created with a note
    feature = services.feature_create(actor=actor, key="sso", name="SSO", note="asked for by Acme")

    # Then one entry names the actor, the feature and its fields, and carries the note
    entry = audit.one()
    assert entry.action == "feature.created"
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("admin", "7", "ada")
    assert (entry.target_type, entry.target_id, entry.target_label) == ("feature", feature.public_id, "SSO (sso)")
    assert entry.company_id == ""
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["key"] == "sso"
    assert entry.after["name"] == "SSO"
    assert entry.after["feature_type"] == "boolean"
    assert entry.note == "asked for by Acme"
    assert entry.created_at is not None


def test_feature_create__duplicate_key__no_entry(audit: AuditLog, actor: Actor) -> None:
    # Given a feature
    services.feature_create(actor=actor, key="sso", name="SSO")
    audit.mark()

    # When another feature takes the same key, Then it is refused and nothing is recorded
    with pytest.raises(ValidationFailed):
        services.feature_create(actor=actor, key="sso", name="Other")
    assert audit.new() == []


def _create_then_fail(actor: Actor) -> None:
    with transaction.atomic():
        services.feature_create(actor=actor, key="sso", name="SSO")
        raise RuntimeError("the caller failed after the write")


def test_feature_create__outer_transaction_rolls_back__entry_gone(audit: AuditLog, actor: Actor) -> None:
    # When the transaction around the write rolls back
    with pytest.raises(RuntimeError):
        _create_then_fail(actor)

    # Then neither the feature nor its entry remain
    assert not Feature.objects.exists()
    assert audit.new() == []


def test_feature_update__renamed__entry_has_only_changed_fields(audit: AuditLog, actor: Actor) -> None:
    feature = services.feature_create(actor=actor, key="sso", name="SSO")
    audit.mark()

    services.feature_update(actor=actor, feature=feature, name="Single sign-on", description="", note="rename")

    entry = audit.one()
    assert entry.action == "feature.updated"
    assert entry.target_id == feature.public_id
    assert entry.before == {"name": "SSO"}
    assert entry.after == {"name": "Single sign-on"}
    assert entry.note == "rename"


def test_feature_update__instance_already_changed_by_a_form__before_is_the_stored_value(
    audit: AuditLog, actor: Actor
) -> None:
    # Given a feature whose instance was changed in memory (as an admin form does) before the service runs
    feature = services.feature_create(actor=actor, key="sso", name="SSO")
    audit.mark()
    feature.name = "Single sign-on"

    services.feature_update(actor=actor, feature=feature, name="Single sign-on")

    entry = audit.one()
    assert (entry.before, entry.after) == ({"name": "SSO"}, {"name": "Single sign-on"})


def test_feature_update__nothing_changes__no_entry(audit: AuditLog, actor: Actor) -> None:
    feature = services.feature_create(actor=actor, key="sso", name="SSO")
    audit.mark()

    services.feature_update(actor=actor, feature=feature, name="SSO")

    assert audit.new() == []


def test_feature_update__type_change_refused__no_entry(audit: AuditLog, actor: Actor) -> None:
    feature = _event_feature(actor)
    services.entitlement_create(
        actor=actor, plan=_free(actor), feature=feature, value_type="numeric", allocation=5, metric_period="all_time"
    )
    audit.mark()

    with pytest.raises(ValidationFailed):
        services.feature_update(actor=actor, feature=feature, feature_type="boolean", event_name="")

    assert audit.new() == []


def test_feature_delete__unused__deleted_entry_with_before(audit: AuditLog, actor: Actor) -> None:
    feature = services.feature_create(actor=actor, key="sso", name="SSO")
    public_id = feature.public_id
    audit.mark()

    services.feature_delete(actor=actor, feature=feature, note="never sold")

    entry = audit.one()
    assert entry.action == "feature.deleted"
    assert (entry.target_type, entry.target_id, entry.target_label) == ("feature", public_id, "SSO (sso)")
    assert entry.before is not None
    assert entry.before["key"] == "sso"
    assert entry.after is None
    assert entry.note == "never sold"


def test_feature_delete__in_use__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    feature = _event_feature(actor)
    services.entitlement_create(
        actor=actor, plan=_free(actor), feature=feature, value_type="numeric", allocation=5, metric_period="all_time"
    )
    audit.mark()

    with pytest.raises(Conflict):
        services.feature_delete(actor=actor, feature=feature)

    assert audit.new() == []


# --- Plans -------------------------------------------------------------------------------------------------------


def test_plan_create__first_base_plan__created_entry_shows_it_initial(audit: AuditLog, actor: Actor) -> None:
    plan = services.plan_create(actor=actor, key="free", name="Free")

    entry = audit.one()
    assert entry.action == "plan.created"
    assert (entry.target_type, entry.target_id) == ("plan", plan.public_id)
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["key"] == "free"
    assert entry.after["is_initial"] is True
    assert entry.after["is_fallback"] is False
    assert entry.note == ""


def test_plan_create__takes_the_initial_marker__one_entry_noting_the_previous_holder(
    audit: AuditLog, actor: Actor
) -> None:
    # Given an initial plan
    _free(actor)
    audit.mark()

    # When a new plan is created as the initial plan
    pro = services.plan_create(actor=actor, key="pro", name="Pro", is_initial=True, note="launch")

    # Then one entry, for the new plan, says where the marker came from
    entry = audit.one()
    assert entry.action == "plan.created"
    assert entry.target_id == pro.public_id
    assert entry.after is not None
    assert entry.after["is_initial"] is True
    assert entry.note == "launch; initial plan moved from free"


def test_plan_update__becomes_initial__before_after_of_the_marker_and_note(audit: AuditLog, actor: Actor) -> None:
    _free(actor)
    pro = services.plan_create(actor=actor, key="pro", name="Pro")
    audit.mark()

    services.plan_update(actor=actor, plan=pro, is_initial=True)

    entry = audit.one()
    assert entry.action == "plan.updated"
    assert entry.target_id == pro.public_id
    assert entry.before == {"is_initial": False}
    assert entry.after == {"is_initial": True}
    assert entry.note == "initial plan moved from free"


def test_plan_update__becomes_fallback__note_names_the_previous_fallback(audit: AuditLog, actor: Actor) -> None:
    _free(actor)
    services.plan_create(actor=actor, key="basic", name="Basic", is_fallback=True)
    pro = services.plan_create(actor=actor, key="pro", name="Pro")
    audit.mark()

    services.plan_update(actor=actor, plan=pro, is_fallback=True, trial_days=14)

    entry = audit.one()
    assert entry.before == {"is_fallback": False, "trial_days": 0}
    assert entry.after == {"is_fallback": True, "trial_days": 14}
    assert entry.note == "fallback plan moved from basic"


def test_plan_update__initial_plan_unmarked__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    free = _free(actor)
    audit.mark()

    with pytest.raises(ValidationFailed):
        services.plan_update(actor=actor, plan=free, is_initial=False)

    assert audit.new() == []


def test_plan_delete__add_on__deleted_entry(audit: AuditLog, actor: Actor) -> None:
    _free(actor)
    boost = services.plan_create(actor=actor, key="boost", name="Boost", plan_type="add_on")
    public_id = boost.public_id
    audit.mark()

    services.plan_delete(actor=actor, plan=boost)

    entry = audit.one()
    assert entry.action == "plan.deleted"
    assert entry.target_id == public_id
    assert entry.before is not None
    assert entry.before["plan_type"] == "add_on"
    assert entry.after is None


def test_plan_delete__initial_with_other_base_plans__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    free = _free(actor)
    services.plan_create(actor=actor, key="pro", name="Pro")
    audit.mark()

    with pytest.raises(Conflict):
        services.plan_delete(actor=actor, plan=free)

    assert audit.new() == []


# --- Entitlements ------------------------------------------------------------------------------------------------


def test_entitlement_create__numeric__created_entry_names_plan_and_feature(audit: AuditLog, actor: Actor) -> None:
    free, feature = _free(actor), _event_feature(actor)
    audit.mark()

    entitlement = services.entitlement_create(
        actor=actor, plan=free, feature=feature, value_type="numeric", allocation=50, metric_period="current_month"
    )

    entry = audit.one()
    assert entry.action == "entitlement.created"
    assert (entry.target_type, entry.target_id) == ("entitlement", entitlement.public_id)
    assert entry.target_label == "free → ai-generations"
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["plan"] == free.public_id
    assert entry.after["feature"] == feature.public_id
    assert entry.after["value_type"] == "numeric"
    assert entry.after["allocation"] == 50
    assert entry.after["metric_period"] == "current_month"


def test_entitlement_create__plan_already_has_one__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    free, feature = _free(actor), _event_feature(actor)
    services.entitlement_create(actor=actor, plan=free, feature=feature, value_type="unlimited")
    audit.mark()

    with pytest.raises(ValidationFailed):
        services.entitlement_create(actor=actor, plan=free, feature=feature, value_type="unlimited")

    assert audit.new() == []


def test_entitlement_update__allocation_raised__before_after(audit: AuditLog, actor: Actor) -> None:
    entitlement = services.entitlement_create(
        actor=actor,
        plan=_free(actor),
        feature=_event_feature(actor),
        value_type="numeric",
        allocation=50,
        metric_period="current_month",
    )
    audit.mark()

    services.entitlement_update(actor=actor, entitlement=entitlement, allocation=100, note="Q4 deal")

    entry = audit.one()
    assert entry.action == "entitlement.updated"
    assert entry.target_id == entitlement.public_id
    assert entry.before == {"allocation": 50}
    assert entry.after == {"allocation": 100}
    assert entry.note == "Q4 deal"


def test_entitlement_delete__existing__deleted_entry(audit: AuditLog, actor: Actor) -> None:
    entitlement = services.entitlement_create(
        actor=actor, plan=_free(actor), feature=_event_feature(actor), value_type="unlimited"
    )
    public_id = entitlement.public_id
    audit.mark()

    services.entitlement_delete(actor=actor, entitlement=entitlement)

    entry = audit.one()
    assert entry.action == "entitlement.deleted"
    assert entry.target_id == public_id
    assert entry.target_label == "free → ai-generations"
    assert entry.before is not None
    assert entry.before["value_type"] == "unlimited"
    assert entry.after is None


# --- Prices ------------------------------------------------------------------------------------------------------


def test_price_create__monthly__created_entry(audit: AuditLog, actor: Actor) -> None:
    free = _free(actor)
    audit.mark()

    price = services.price_create(actor=actor, plan=free, interval="month", currency="USD", amount_minor=2900)

    entry = audit.one()
    assert entry.action == "price.created"
    assert (entry.target_type, entry.target_id) == ("price", price.public_id)
    assert entry.after == {"plan": free.public_id, "interval": "month", "currency": "usd", "amount_minor": 2900}


def test_price_create__same_interval_and_currency__refused_and_no_entry(audit: AuditLog, actor: Actor) -> None:
    free = _free(actor)
    services.price_create(actor=actor, plan=free, interval="month", currency="usd", amount_minor=2900)
    audit.mark()

    with pytest.raises(ValidationFailed):
        services.price_create(actor=actor, plan=free, interval="month", currency="usd", amount_minor=1000)

    assert audit.new() == []


def test_price_update__amount_changed__before_after(audit: AuditLog, actor: Actor) -> None:
    price = services.price_create(actor=actor, plan=_free(actor), interval="month", currency="usd", amount_minor=2900)
    audit.mark()

    services.price_update(actor=actor, price=price, amount_minor=3900)

    entry = audit.one()
    assert entry.action == "price.updated"
    assert (entry.before, entry.after) == ({"amount_minor": 2900}, {"amount_minor": 3900})


def test_price_delete__existing__deleted_entry(audit: AuditLog, actor: Actor) -> None:
    price = services.price_create(actor=actor, plan=_free(actor), interval="year", currency="eur", amount_minor=29000)
    public_id = price.public_id
    audit.mark()

    services.price_delete(actor=actor, price=price)

    entry = audit.one()
    assert entry.action == "price.deleted"
    assert entry.target_id == public_id
    assert entry.before is not None
    assert entry.before["amount_minor"] == 29000
    assert entry.after is None

"""The delivery promise of domain events (``core.events``), seen through real writes: the REST API and the services
that every door calls, on a database that really commits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from catalog.events import CatalogChanged, CatalogObject
from core.actors import SYSTEM_ACTOR
from core.events import DomainEvent, events_subscribe, events_unsubscribe
from credits.events import CreditsBurned, CreditsGranted
from credits.services import credit_grant
from entitlements.events import (
    CompanyChanged,
    CompanyCreated,
    OverrideEvent,
    OverrideGranted,
    OverrideRevoked,
    SubscriptionChanged,
    UsageRecorded,
)
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create, company_update

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """A subscriber that keeps each delivery (one list per call)."""

    def __init__(self) -> None:
        self.deliveries: list[list[DomainEvent]] = []

    def __call__(self, events: Sequence[DomainEvent]) -> None:
        self.deliveries.append(list(events))

    def kinds(self) -> list[list[str]]:
        return [[type(event).__name__ for event in delivery] for delivery in self.deliveries]


@pytest.fixture
def subscribe() -> Iterator[Any]:
    """Subscribe recorders for the test only."""
    subscribed: list[Recorder] = []

    def _subscribe(*types: type[DomainEvent]) -> Recorder:
        recorder = Recorder()
        events_subscribe(recorder, types=types)
        subscribed.append(recorder)
        return recorder

    yield _subscribe
    for recorder in subscribed:
        events_unsubscribe(recorder)


@pytest.fixture
def acme(db: None) -> Company:
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="call")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro", is_initial=True)
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=pro, feature=sso, value_type="boolean")
    return company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())


class _Boom(Exception):
    pass


def test_one_transaction__many_events__one_delivery_in_emission_order(subscribe: Any, db: None) -> None:
    catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free", is_initial=True)
    recorder = subscribe()
    # When a company is created with keys and traits (one transaction, several writes)
    company = company_create(
        actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, traits={"seats": 3}, now=timezone.now()
    )
    # Then every event of it arrives in one call, in the order the writes happened
    assert recorder.kinds() == [["CompanyCreated", "CompanyChanged", "CompanyChanged", "SubscriptionChanged"]]
    created, keys, traits, subscription = recorder.deliveries[0]
    assert created == CompanyCreated(company_id=company.pk)
    assert keys == CompanyChanged(company_id=company.pk, what=frozenset({"keys"}))
    assert traits == CompanyChanged(company_id=company.pk, what=frozenset({"traits"}))
    assert isinstance(subscription, SubscriptionChanged)
    assert (subscription.before, subscription.after["plan"]) == (None, "free")  # type: ignore[index]


def test_rolled_back_transaction__nothing_delivered(subscribe: Any, acme: Company) -> None:
    recorder = subscribe()

    def update_then_fail() -> None:
        with transaction.atomic():
            company_update(actor=SYSTEM_ACTOR, company=acme, name="Acme Corp", traits={"seats": 9})
            raise _Boom

    with pytest.raises(_Boom):
        update_then_fail()
    assert recorder.deliveries == []
    # and the next committed transaction delivers only its own events
    company_update(actor=SYSTEM_ACTOR, company=acme, name="Acme Inc")
    assert recorder.deliveries == [[CompanyChanged(company_id=acme.pk, what=frozenset({"profile"}))]]


def test_rolled_back_savepoint__its_events_dropped_the_rest_delivered(subscribe: Any, acme: Company) -> None:
    recorder = subscribe()
    with transaction.atomic():
        company_update(actor=SYSTEM_ACTOR, company=acme, name="Acme Corp")
        try:
            with transaction.atomic():  # a savepoint
                company_update(actor=SYSTEM_ACTOR, company=acme, traits={"seats": 9})
                raise _Boom
        except _Boom:
            pass
        company_update(actor=SYSTEM_ACTOR, company=acme, keys={"domain": "acme.test"})
    assert recorder.deliveries == [
        [
            CompanyChanged(company_id=acme.pk, what=frozenset({"profile"})),
            CompanyChanged(company_id=acme.pk, what=frozenset({"keys"})),
        ]
    ]


def test_transactions__delivered_in_commit_order(subscribe: Any, api: APIClient, acme: Company) -> None:
    # Given a subscriber of override events only
    overrides = subscribe(OverrideEvent)
    everything = subscribe()
    # When an override is granted, then revoked, through the API (each request its own transaction)
    granted = api.post(
        f"/api/v1/companies/{acme.public_id}/overrides",
        {"feature": "sso", "value_type": "boolean", "value": False, "note": "pilot"},
    )
    assert granted.status_code == 201, granted.content
    assert api.delete(f"/api/v1/companies/{acme.public_id}/overrides/sso").status_code == 200
    # Then it received the two, in that order, one delivery each
    assert overrides.kinds() == [["OverrideGranted"], ["OverrideRevoked"]]
    grant, revoke = overrides.deliveries[0][0], overrides.deliveries[1][0]
    assert isinstance(grant, OverrideGranted) and isinstance(revoke, OverrideRevoked)
    assert grant.override_id == revoke.override_id and grant.company_id == acme.pk
    # and a subscriber of every event saw nothing else either (creating an API key is not a domain event)
    assert everything.kinds() == overrides.kinds()


def test_capture__usage_and_credit_burns__one_delivery_per_batch(subscribe: Any, acme: Company) -> None:
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    images = catalog.feature_create(
        actor=SYSTEM_ACTOR, key="images", name="Images", feature_type="event", event_name="image"
    )
    pro = acme.subscriptions.get().plan
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=pro, feature=images, value_type="credit", credit_type=ai, consumption_rate=2
    )
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=acme.pk,
        credit_type=ai,
        quantity=Decimal(100),
        reason="manual",
        now=timezone.now(),
    )
    recorder = subscribe(UsageRecorded, CreditsBurned, CreditsGranted)
    track = {"type": "track", "body": {"event": "image", "company": {"external_id": "acme"}, "quantity": 3}}
    batch_capture(events=[track, track], actor=SYSTEM_ACTOR, now=timezone.now())
    assert recorder.kinds() == [["CreditsBurned", "UsageRecorded"]]
    burned, usage = recorder.deliveries[0]
    assert isinstance(burned, CreditsBurned) and (burned.quantity, burned.balance_after) == (Decimal(12), Decimal(88))
    assert usage == UsageRecorded(company_id=acme.pk, events=2, event_names=frozenset({"image"}))


def test_catalog_change__names_the_object(subscribe: Any, db: None) -> None:
    recorder = subscribe(CatalogChanged)
    feature = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    catalog.feature_update(actor=SYSTEM_ACTOR, feature=feature, name="Single sign-on")
    assert [delivery[0] for delivery in recorder.deliveries] == [
        CatalogChanged(objects=(CatalogObject(kind="feature", public_id=feature.public_id, change="created"),)),
        CatalogChanged(objects=(CatalogObject(kind="feature", public_id=feature.public_id, change="updated"),)),
    ]


def test_failing_subscriber__others_still_called_and_the_write_stands(subscribe: Any, acme: Company) -> None:
    def failing(events: Sequence[DomainEvent]) -> None:
        raise RuntimeError("subscriber bug")

    events_subscribe(failing)
    try:
        later = subscribe()
        company_update(actor=SYSTEM_ACTOR, company=acme, name="Acme Corp")
    finally:
        events_unsubscribe(failing)
    assert later.kinds() == [["CompanyChanged"]]
    assert Company.objects.get(pk=acme.pk).name == "Acme Corp"

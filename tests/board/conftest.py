"""A catalog with a base plan, an add-on and a fallback plan, and helpers to put companies into the states the board
and the company list filters tell apart. Everything is written through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from catalog import services as catalog
from catalog.models import Feature, Plan
from core.actors import SYSTEM_ACTOR
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put


@dataclass
class BoardCatalog:
    sso: Feature  # boolean, in Pro
    audit_log: Feature  # boolean, in no plan
    generations: Feature  # event "generation": Pro 1,000 a month, Free 50 a month
    exports: Feature  # event "export": only the Boost add-on, 10 in total
    pro: Plan
    boost: Plan  # add-on
    free: Plan  # the fallback plan


@pytest.fixture
def board_catalog(db: None) -> BoardCatalog:
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    audit_log = catalog.feature_create(actor=actor, key="audit-log", name="Audit log")
    generations = catalog.feature_create(
        actor=actor, key="ai-generations", name="AI generations", feature_type="event", event_name="generation",
        unit_singular="generation", unit_plural="generations",
    )  # fmt: skip
    exports = catalog.feature_create(
        actor=actor, key="exports", name="Exports", feature_type="event", event_name="export",
        unit_singular="export", unit_plural="exports",
    )  # fmt: skip
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro", trial_days=14)
    free = catalog.plan_create(actor=actor, key="free", name="Free", is_fallback=True)
    boost = catalog.plan_create(actor=actor, key="boost", name="Boost", plan_type="add_on")
    catalog.entitlement_create(actor=actor, plan=pro, feature=sso, value_type="boolean")
    catalog.entitlement_create(
        actor=actor, plan=pro, feature=generations, value_type="numeric", allocation=1000, metric_period="current_month"
    )
    catalog.entitlement_create(
        actor=actor, plan=free, feature=generations, value_type="numeric", allocation=50, metric_period="current_month"
    )
    catalog.entitlement_create(
        actor=actor, plan=boost, feature=exports, value_type="numeric", allocation=10, metric_period="all_time"
    )
    return BoardCatalog(sso, audit_log, generations, exports, pro, boost, free)


def company_on(
    *,
    name: str,
    plan: Plan,
    add_ons: list[Plan] | None = None,
    status: str = "active",
    trial_ends_at: dt.datetime | None = None,
) -> Company:
    """A company keyed ``external_id=<name lower-cased>`` whose live subscription is as described."""
    now = timezone.now()
    company = company_create(actor=SYSTEM_ACTOR, name=name, keys={"external_id": name.lower()}, now=now)
    subscription_put(
        actor=SYSTEM_ACTOR,
        company=company,
        plan=plan,
        add_ons=add_ons or [],
        status=status,
        trial_ends_at=trial_ends_at,
        now=now,
    )
    return company


def use(company: Company, event: str, quantity: int) -> None:
    """Track ``quantity`` uses of ``event`` for the company, the way the SDKs report them."""
    external_id = company.keys.get(name="external_id").value
    body = {"event": event, "company": {"external_id": external_id}, "quantity": quantity}
    outcome = batch_capture(events=[{"type": "track", "body": body}], actor=SYSTEM_ACTOR, now=timezone.now())
    assert outcome.accepted == 1 and not outcome.rejected, outcome

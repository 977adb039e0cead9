"""A small catalog and a company made through the services, for the admin page tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import CreditBundle, CreditPrice, CreditType, Entitlement, Feature, Plan, PlanCreditGrant, Price
from core.actors import SYSTEM_ACTOR
from credits.services import credit_burn, credit_grant
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.users import user_create


@dataclass
class Catalog:
    boolean_feature: Feature
    event_feature: Feature
    free: Plan
    pro: Plan
    add_on: Plan
    entitlement: Entitlement
    price: Price
    company: Company


@pytest.fixture
def catalog(db: None) -> Catalog:
    actor = SYSTEM_ACTOR
    boolean_feature = catalog_services.feature_create(actor=actor, key="sso", name="SSO")
    event_feature = catalog_services.feature_create(
        actor=actor,
        key="ai-generations",
        name="AI generations",
        feature_type="event",
        event_name="generation",
    )
    free = catalog_services.plan_create(actor=actor, key="free", name="Free")
    pro = catalog_services.plan_create(actor=actor, key="pro", name="Pro", trial_days=14)
    add_on = catalog_services.plan_create(actor=actor, key="boost", name="Boost", plan_type="add_on")
    entitlement = catalog_services.entitlement_create(
        actor=actor,
        plan=free,
        feature=event_feature,
        value_type="numeric",
        allocation=50,
        metric_period="current_month",
    )
    price = catalog_services.price_create(actor=actor, plan=pro, interval="month", currency="usd", amount_minor=2900)
    company = company_create(
        actor=actor, name="Acme", keys={"external_id": "acme"}, traits={"seats": 3}, now=timezone.now()
    )
    user_create(
        actor=actor,
        name="Ada",
        keys={"email": "ada@acme.test"},
        traits={"role": "admin"},
        companies=[company],
    )
    api_key_create(actor=actor, name="backend")
    credit_type = CreditType.objects.create(key="ai", name="AI credits")
    CreditPrice.objects.create(credit_type=credit_type, currency="usd", unit_amount_minor=Decimal("0.5"))
    CreditBundle.objects.create(
        key="ai-1000", name="1,000 AI credits", credit_type=credit_type, quantity=1000, price_minor=900, currency="usd"
    )
    PlanCreditGrant.objects.create(plan=pro, credit_type=credit_type, quantity=100)
    credit_grant(
        actor=actor, company_id=company.pk, credit_type=credit_type, quantity=Decimal(50), reason="promotional",
        now=timezone.now(),
    )  # fmt: skip
    credit_burn(actor=actor, company_id=company.pk, credit_type=credit_type, quantity=Decimal(2), now=timezone.now())
    override_grant(
        actor=actor, company=company, feature=event_feature, value_type="unlimited", note="launch partner",
        now=timezone.now(),
    )  # fmt: skip
    batch_capture(
        events=[
            {"type": "track", "body": {"event": "generation", "company": {"external_id": "acme"}, "quantity": 2}},
            {"type": "flag_check", "body": {"flag_key": "sso", "value": False, "company_id": company.public_id}},
        ],
        actor=actor,
        now=timezone.now(),
    )
    return Catalog(boolean_feature, event_feature, free, pro, add_on, entitlement, price, company)


@pytest.fixture
def admin_on_demo(settings: Any, tmp_path: Any) -> Client:
    """A superuser's client on the demo data of ``make run`` (``seed_demo``)."""
    settings.BASE_DIR = tmp_path  # the demo admin's password file
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.test", "pw"))
    return client

"""Plan credits granted "until the end of the trial" follow the trial when it is extended."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from catalog.credit_services import credit_type_create, plan_credit_grant_create
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from credits.models import CreditGrant, GrantReason
from entitlements.services.companies import company_create
from entitlements.services.plan_credits import plan_credits_grant_due

pytestmark = pytest.mark.django_db


def test_trial_extended__plan_credits_of_the_trial_period_expire_at_the_new_end(api: APIClient) -> None:
    # Given a trial of Pro, which includes 500 AI credits a month, and those credits granted until the trial ends
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free", is_initial=True)
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro", trial_days=14)
    plan_credit_grant_create(actor=SYSTEM_ACTOR, plan=pro, credit_type=ai, quantity=Decimal(500))
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    trial_url = f"/api/v1/companies/{company.public_id}/trial"
    assert api.post(trial_url, {"plan": "pro", "days": 14}).status_code in (200, 201)
    plan_credits_grant_due(actor=SYSTEM_ACTOR, now=timezone.now())
    grant = CreditGrant.objects.get(company=company, reason=GrantReason.PLAN)
    first_end = grant.expires_at
    assert first_end is not None
    # When the account executive extends the trial by a week
    new_end = first_end + dt.timedelta(days=7)
    response = api.patch(trial_url, {"ends_at": new_end.isoformat()})
    assert response.status_code == 200, response.json()
    # Then the trial's plan credits last until the new end, and the move is audited
    grant.refresh_from_db()
    assert grant.expires_at == new_end
    assert AuditEntry.objects.filter(action="credit.expiry_moved", target_id=grant.public_id).count() == 1
    # and no second grant appears for the same (longer) period
    plan_credits_grant_due(actor=SYSTEM_ACTOR, now=timezone.now())
    assert CreditGrant.objects.filter(company=company, reason=GrantReason.PLAN).count() == 1

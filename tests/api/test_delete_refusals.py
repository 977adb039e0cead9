"""A refused delete says in words what still refers to the object: kinds with counts, a few of them by name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_burn, credit_grant
from entitlements.models import Company
from entitlements.services.companies import company_create

pytestmark = pytest.mark.django_db


def test_company_delete__with_credit_history__409_naming_account_grants_and_ledger_in_words(api: APIClient) -> None:
    # Given a company with an AI-credit grant of 5,000 and four burns on its ledger
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    now = timezone.now()
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=ai, quantity=Decimal(5000), reason="manual", now=now
    )
    for _ in range(4):
        credit_burn(actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=ai, quantity=Decimal(1), now=now)
    # When it is deleted
    response = api.delete(f"/api/v1/companies/{company.public_id}")
    # Then 409, in words, and the company stays
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "in_use"
    assert body["error"] == (
        "Company 'Acme' cannot be deleted: 1 credit account (AI credits: 4,996), "
        "1 credit grant (5,000 AI credits (Manual adjustment), 4,996 left) and 5 credit ledger entries still refer "
        "to it. Remove those first."
    )
    assert Company.objects.filter(pk=company.pk).exists()

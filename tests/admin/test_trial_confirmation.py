"""Starting a trial from the company list asks first: it shows what each company is on, where it lands when the
trial ends, and needs a reason before it moves a paying customer onto a trial."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEntry
from entitlements.models import Company, Subscription, SubscriptionStatus

pytestmark = pytest.mark.django_db


def _live(company: Company) -> Subscription:
    return Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).get(company=company)


def _action(company: Company, **extra: str) -> dict[str, Any]:
    return {"action": "start_trial_pro", "index": "0", "_selected_action": [str(company.pk)], **extra}


def test_trial_on_a_paying_customer__confirmation_names_it_and_says_where_it_lands(admin_on_demo: Client) -> None:
    globex = Company.objects.get(keys__value="globex")  # Pro, active, paying $29 a month, a Stripe customer
    page = admin_on_demo.post(reverse("admin:entitlements_company_changelist"), _action(globex))
    html = page.content.decode()
    assert page.status_code == 200
    assert "paying customer" in html and "Pro (active) — <strong>paying</strong>" in html
    assert "moves to Free, the fallback plan (no payment method on file)" in html
    assert _live(globex).status == SubscriptionStatus.ACTIVE  # nothing happened yet


def test_trial_on_a_paying_customer__without_a_reason__refused_nothing_changes(admin_on_demo: Client) -> None:
    globex = Company.objects.get(keys__value="globex")
    page = admin_on_demo.post(reverse("admin:entitlements_company_changelist"), _action(globex, confirm="yes"))
    assert page.status_code == 200
    assert "Say why paying customers are moved onto a trial." in page.content.decode()
    assert _live(globex).status == SubscriptionStatus.ACTIVE


def test_trial_on_a_paying_customer__with_a_reason__starts_and_audits_the_reason(admin_on_demo: Client) -> None:
    globex = Company.objects.get(keys__value="globex")
    response = admin_on_demo.post(
        reverse("admin:entitlements_company_changelist"),
        _action(globex, confirm="yes", note="Evaluating the Q1 features before renewal"),
    )
    assert response.status_code == 302
    assert _live(globex).status == SubscriptionStatus.TRIALING
    entry = AuditEntry.objects.get(action="trial.started", company_id=globex.public_id)
    assert entry.note == "Evaluating the Q1 features before renewal"


def test_trial_on_a_free_company__no_reason_needed(admin_on_demo: Client) -> None:
    umbrella = Company.objects.get(keys__value="umbrella")  # Free
    page = admin_on_demo.post(reverse("admin:entitlements_company_changelist"), _action(umbrella))
    assert "paying customer" not in page.content.decode()
    response = admin_on_demo.post(reverse("admin:entitlements_company_changelist"), _action(umbrella, confirm="yes"))
    assert response.status_code == 302
    assert (_live(umbrella).plan.key, _live(umbrella).status) == ("pro", SubscriptionStatus.TRIALING)

"""The company page's header and its guard-rails, on the demo data: a plan change says what it changes and needs a
reason; deleting a company needs a reason (and is one company at a time, from its page)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Plan
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.models import Company, Subscription, UsageEvent
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from tests.admin.browser_form import admin_change_form_data

pytestmark = pytest.mark.django_db


def _company(external_id: str) -> Company:
    return Company.objects.get(keys__name="external_id", keys__value=external_id)


def _page_form(client: Client, company: Company) -> tuple[str, dict[str, Any]]:
    """The company page's form as the browser would submit it unchanged (fields replaced by the tests' changes)."""
    url = reverse("admin:entitlements_company_change", args=[company.pk])
    return url, admin_change_form_data(client.get(url).content.decode(), model_name="company")


def _throwaway() -> Company:
    """A company with nothing that blocks its deletion (no catalog, so no plan and no credits: a company's credit
    ledger is kept, so the demo's companies cannot be deleted)."""
    company = company_create(
        actor=SYSTEM_ACTOR, name="Throwaway Ltd", keys={"external_id": "throwaway"}, now=timezone.now()
    )
    event = {"type": "track", "body": {"event": "generation", "company": {"external_id": "throwaway"}}}
    batch_capture(events=[event], actor=SYSTEM_ACTOR, now=timezone.now())  # usage goes with it
    return company


def _live(company: Company) -> Subscription:
    return Subscription.objects.exclude(status="canceled").get(company=company)


def test_company_page__header__plan_status_credits_limits_and_exceptions(admin_on_demo: Client) -> None:
    globex = _company("globex")
    response = admin_on_demo.get(reverse("admin:entitlements_company_change", args=[globex.pk]))
    header = response.context["company_header"]
    assert (header.plan, header.status, len(header.overrides)) == ("Pro", "Active", 1)
    assert header.overrides[0].reason == "Support goodwill"
    page = response.content.decode()
    assert page.index('id="company-header"') < page.index('id="company-credits"')
    assert "AI credits" in page[page.index('id="company-header-credits"') : page.index('id="entitlement-board"')]
    assert "overrides-TOTAL_FORMS" not in page  # exceptions are granted by the flow and listed, not a raw inline


def test_plan_change__without_reason__what_changes_listed_and_nothing_saved(admin_on_demo: Client) -> None:
    globex = _company("globex")
    url, data = _page_form(admin_on_demo, globex)
    free = Plan.objects.get(key="free")

    response = admin_on_demo.post(url, {**data, "plan": str(free.pk)})

    assert response.status_code == 200
    effects = response.context["adminform"].form.plan_change_effects
    assert effects[0] == "Plan: Pro (pro) → Free (free)"
    assert "AI generations: 1,000 / month → 50 / month" in effects
    assert "Brand voice" not in " ".join(effects)  # Globex's exception for it still wins
    assert "change_reason" in response.context["adminform"].form.errors
    assert 'id="plan-change-confirmation"' in response.content.decode()
    assert _live(globex).plan.key == "pro"


def test_plan_change__with_reason__saved_and_the_reason_in_the_audit_log(admin_on_demo: Client) -> None:
    globex = _company("globex")
    url, data = _page_form(admin_on_demo, globex)
    free = Plan.objects.get(key="free")

    response = admin_on_demo.post(url, {**data, "plan": str(free.pk), "change_reason": "downgrade asked by email"})

    assert response.status_code == 302
    assert _live(globex).plan.key == "free"
    entry = AuditEntry.objects.filter(company_id=globex.public_id, action__startswith="subscription").latest("id")
    assert entry.note == "downgrade asked by email"


def test_status_change__without_reason__refused_and_unchanged(admin_on_demo: Client) -> None:
    globex = _company("globex")
    url, data = _page_form(admin_on_demo, globex)
    response = admin_on_demo.post(url, {**data, "subscription_status": "canceled"})
    assert response.status_code == 200
    assert "Status: Active → Canceled" in response.context["adminform"].form.plan_change_effects
    assert _live(globex).status == "active"


def test_company_delete__without_reason__page_again_and_company_kept(admin_client: Client) -> None:
    company = _throwaway()
    url = reverse("admin:entitlements_company_delete", args=[company.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="note"' in page and "cannot be undone" in page

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 200
    assert "Say why this company is deleted." in response.content.decode()
    assert Company.objects.filter(pk=company.pk).exists()


def test_company_delete__with_reason__deleted_and_the_reason_in_the_audit_log(admin_client: Client) -> None:
    company = _throwaway()
    url = reverse("admin:entitlements_company_delete", args=[company.pk])

    response = admin_client.post(url, {"post": "yes", "note": "test account made by mistake"})

    assert response.status_code == 302
    assert not Company.objects.filter(pk=company.pk).exists()
    assert not UsageEvent.objects.filter(company_id=company.pk).exists()
    entry = AuditEntry.objects.get(action="company.deleted", target_id=company.public_id)
    assert entry.note == "test account made by mistake"


def test_company_delete__demo_company_with_a_credit_ledger__refused_in_words(admin_on_demo: Client) -> None:
    globex = _company("globex")
    response = admin_on_demo.get(reverse("admin:entitlements_company_delete", args=[globex.pk]))
    page = response.content.decode()
    assert "credit ledger entr" in page and "/admin/credits/" not in page.split('id="content"')[1].split("</ul>")[0]
    assert admin_on_demo.post(reverse("admin:entitlements_company_delete", args=[globex.pk]),
                              {"post": "yes", "note": "try"}).status_code in (200, 403)  # fmt: skip
    assert Company.objects.filter(pk=globex.pk).exists()


def test_company_list__bulk_delete__not_offered(admin_on_demo: Client) -> None:
    page = admin_on_demo.get(reverse("admin:entitlements_company_changelist")).content.decode()
    assert "delete_selected" not in page

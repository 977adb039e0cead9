"""Every admin change page opened on the demo data and saved unchanged, as a browser submits it, succeeds.

The submission is built from the rendered HTML (``tests.admin.browser_form``): a stored value whose widget shows no
choice is submitted as the first choice, exactly as Chromium does, so a field that does not round-trip fails here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Feature
from core.actors import SYSTEM_ACTOR
from core.events import DomainEvent, events_subscribe_at_emit, events_unsubscribe
from core.models import AuditEntry
from entitlements.models import Company, CompanyOverride
from entitlements.services.overrides import override_grant
from tests.admin.browser_form import admin_change_form_data

pytestmark = pytest.mark.django_db
ROWS_PER_MODEL = 12  # enough to meet every shape the demo has (plans with credit rows, boolean overrides, …)


def _save_unchanged(client: Client, obj: Model) -> tuple[int, str]:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200, f"{url} → {page.status_code}"
    response = client.post(url, admin_change_form_data(page.content.decode(), model_name=str(opts.model_name)))
    return response.status_code, response.content.decode() if response.status_code != 302 else ""


def _errors(html: str) -> str:
    """The error lines of a re-rendered admin form, for the failure message."""
    lines = [line.strip() for line in html.splitlines() if "errorlist" in line or "errornote" in line]
    return " | ".join(lines)[:2000]


def test_every_change_page__demo_data__saves_unchanged_and_changes_nothing(admin_on_demo: Client) -> None:
    request_user = get_user_model().objects.get(username="root")
    failures = []
    saved = 0
    announced: list[DomainEvent] = []
    events_subscribe_at_emit(announced.extend)  # at emit: this test's transaction never commits
    try:
        for model, model_admin in admin.site._registry.items():
            request = type("Request", (), {"user": request_user})()
            for obj in model._default_manager.all()[:ROWS_PER_MODEL]:
                if not model_admin.has_change_permission(request, obj):
                    continue
                audited = AuditEntry.objects.count()
                status, html = _save_unchanged(admin_on_demo, obj)
                saved += 1
                if status != 302:
                    failures.append(f"{model._meta.label} {obj.pk}: {status} {_errors(html)}")
                elif AuditEntry.objects.count() != audited:  # saved unchanged: nothing was changed, nothing is recorded
                    entries = AuditEntry.objects.order_by("-id")[: AuditEntry.objects.count() - audited]
                    failures.append(f"{model._meta.label} {obj.pk}: recorded {[e.action for e in entries]}")
                elif announced:  # … and nothing is announced (every document made stale, every SDK sent new flags)
                    failures.append(f"{model._meta.label} {obj.pk}: announced {[type(e).__name__ for e in announced]}")
                    announced.clear()
    finally:
        events_unsubscribe(announced.extend)
    assert not failures, "\n".join(failures)
    assert saved > 50  # the demo has plans, features, companies, users, overrides, credit types, bundles …


def test_company_with_boolean_off_override__saves_unchanged(admin_on_demo: Client) -> None:
    # Given the demo company whose plan feature is switched off by an override (value False)
    company = Company.objects.get(keys__value="globex")
    override = CompanyOverride.objects.get(company=company, feature__key="brand-voice")
    assert override.value is False
    # When the company page and the override's own page are saved unchanged
    # Then both save, and the override is still off
    assert _save_unchanged(admin_on_demo, company)[0] == 302
    assert _save_unchanged(admin_on_demo, override)[0] == 302
    override.refresh_from_db()
    assert override.value is False


def test_override_with_expiry_and_numeric_limit__saves_unchanged(admin_on_demo: Client) -> None:
    company = Company.objects.get(keys__value="acme")
    override = override_grant(
        actor=SYSTEM_ACTOR,
        company=company,
        feature=Feature.objects.get(key="image-exports"),
        value_type="numeric",
        allocation=500,
        metric_period="current_day",
        expires_at=timezone.now() + dt.timedelta(days=30),
        note="launch week",
        now=timezone.now(),
    )
    assert _save_unchanged(admin_on_demo, override)[0] == 302
    assert CompanyOverride.objects.get(pk=override.pk).allocation == 500

"""In Chromium, every admin change page of the demo data saves unchanged: the widget state is what a person submits.

A few rows of every model (the shapes the demo has: plans with credit rows, boolean overrides on and off, …) are
opened, saved with the page's own Save button, and must land on the list with Django's success message.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser
ROWS_PER_MODEL = 3


def test_every_change_page__demo_data__saves_unchanged_in_chromium(signed_in: Any) -> None:
    page = signed_in
    user = get_user_model().objects.get(username="ae-root")
    request = type("Request", (), {"user": user})()
    failures, saved = [], 0
    for model, model_admin in admin.site._registry.items():
        for obj in model._default_manager.all()[:ROWS_PER_MODEL]:
            if not model_admin.has_change_permission(request, obj):
                continue
            opts = obj._meta
            page.goto(page.base_url + reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            page.click("input[name=_save]")
            page.wait_for_load_state()
            saved += 1
            if not page.locator(".messagelist .success").count():
                errors = " | ".join(page.locator(".errornote, .errorlist li").all_inner_texts())
                failures.append(f"{opts.label} {obj.pk}: {errors or page.url}")
    assert not failures, "\n".join(failures)
    assert saved > 30


def test_company_page__renders_for_an_account_executive(signed_in: Any) -> None:
    page = signed_in
    page.goto(page.base_url + reverse("admin:entitlements_company_changelist"))
    screenshot(page, "company-list")
    page.click("text=Globex")
    page.wait_for_load_state()
    assert page.locator("text=Brand voice").count() > 0
    screenshot(page, "company-page")


def test_home__the_day_s_queues_link_to_the_filtered_list(signed_in: Any) -> None:
    page = signed_in
    page.goto(page.base_url + "/admin/")
    assert page.locator(".queue").count() == 5
    screenshot(page, "home")
    page.click("text=Trials ending this week")
    page.wait_for_load_state()
    assert "trial_ending=7d" in page.url
    assert page.locator("#result_list tbody tr").count() == 1  # Initech, whose trial ends in a week

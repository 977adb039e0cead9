"""In Chromium at 1440 × 900: the company page fits the width with its credits above the fold, and an account
executive grants an exception through the guided flow (feature → value → expiry → reason → preview → confirm)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from entitlements.models import Company, CompanyOverride
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _company(external_id: str) -> Company:
    return Company.objects.get(keys__name="external_id", keys__value=external_id)


@pytest.mark.parametrize("external_id", ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"])
def test_company_page__1440_px__no_horizontal_scroll_and_credits_above_the_fold(
    signed_in: Any, external_id: str
) -> None:
    page = signed_in
    page.goto(page.base_url + reverse("admin:entitlements_company_change", args=[_company(external_id).pk]))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow} px of horizontal scrolling"
    credits = page.locator("#company-header-credits").bounding_box()
    assert credits is not None and credits["y"] + credits["height"] <= 900


def test_exception_flow__ae_raises_a_limit__previewed_then_granted(signed_in: Any) -> None:
    page = signed_in
    globex = _company("globex")
    page.goto(page.base_url + reverse("admin:entitlements_company_change", args=[globex.pk]))
    page.click("#grant-exception")
    page.locator('tr[data-feature="ai-generations"] a.grant-choose').click()
    page.wait_for_load_state()
    assert "1,000 / month" in page.locator("#grant-now").inner_text()  # what Pro gives now
    page.select_option("#id_value_type", "numeric")
    page.fill("#id_allocation", "5000")
    page.check("input[name=expiry][value='30_days']")
    page.select_option("#id_reason", "sales_deal")
    page.fill("#id_note", "Q4 expansion, signed by their VP")
    page.click("button[value=preview]")
    page.wait_for_load_state()
    assert "AI generations: 5,000 per month until" in page.locator("#grant-summary").inner_text()
    assert not CompanyOverride.objects.filter(company=globex, feature__key="ai-generations").exists()
    screenshot(page, "exception-flow")
    page.click("button[value=confirm]")
    page.wait_for_load_state()
    assert "now has AI generations 5,000 per month until" in page.locator(".messagelist .success").inner_text()
    override = CompanyOverride.objects.get(company=globex, feature__key="ai-generations", state="active")
    assert (override.allocation, override.reason) == (5000, "sales_deal")
    assert override.public_id in page.locator("#company-overrides").inner_html()

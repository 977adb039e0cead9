"""The guided "grant an exception" flow, on the demo data, as an account executive goes through it: feature → value
(with what the company has now) → expiry → reason and note → preview → confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from core.permissions import SUPPORT
from entitlements.board.entitlement_board import company_entitlement_board
from entitlements.models import Company, CompanyOverride
from entitlements.rules.overrides import ExpiryPreset, override_expiry_for_preset
from tests.permissions.conftest import _staff_client

pytestmark = pytest.mark.django_db


def _company(external_id: str) -> Company:
    return Company.objects.get(keys__name="external_id", keys__value=external_id)


def _grant_url(company: Company) -> str:
    return reverse("admin:entitlements_company_grant", args=[company.pk])


def _raise_generations(**changes: str) -> dict[str, str]:
    """AI generations raised to 5,000 a month for 30 days, a sales deal, as the form posts it."""
    return {
        "feature": "ai-generations", "value_type": "numeric", "allocation": "5000", "metric_period": "current_month",
        "month_reset": "", "expiry": "30_days", "reason": "sales_deal", "note": "Q4 expansion, signed by their VP",
        **changes,
    }  # fmt: skip


def _allocation(company: Company, key: str) -> Any:
    state = next(
        row for row in company_entitlement_board(company=company, now=timezone.now()) if row.feature.key == key
    )
    return state.allocation


def test_feature_step__demo_company__every_feature_with_what_it_has_now(admin_on_demo: Client) -> None:
    globex = _company("globex")
    page = admin_on_demo.get(_grant_url(globex)).content.decode()
    assert f"{_grant_url(globex)}?feature=ai-generations" in page
    assert "1,000 / month" in page  # what Pro gives now
    assert "Has an exception: change it" in page  # brand voice already has one (the demo's)
    assert f"{_grant_url(globex)}?feature=brand-voice" not in page


def test_value_step__plan_value_shown_and_the_form_starts_from_it(admin_on_demo: Client) -> None:
    response = admin_on_demo.get(_grant_url(_company("globex")), {"feature": "ai-generations"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "AI generations for Globex now" in page and "1,000 / month" in page and "Pro" in page
    assert response.context["form"].initial["allocation"] == 1000
    choices = dict(response.context["form"].fields["expiry"].choices)
    assert set(choices) == {"end_of_month", "7_days", "30_days", "90_days", "none", "date"}  # Globex is not trialing


def test_value_step__trialing_company__end_of_trial_offered_at_the_trial_end(admin_on_demo: Client) -> None:
    initech = _company("initech")
    response = admin_on_demo.get(_grant_url(initech), {"feature": "ai-generations"})
    ends = initech.subscriptions.get(status="trialing").trial_ends_at
    assert ends is not None
    label = dict(response.context["form"].fields["expiry"].choices)["end_of_trial"]
    assert f"{ends.day} {ends:%b %Y %H:%M} UTC" in label


def test_preview__raised_limit__board_after_shown_and_nothing_written(admin_on_demo: Client) -> None:
    globex = _company("globex")
    before = CompanyOverride.objects.count()

    response = admin_on_demo.post(_grant_url(globex), _raise_generations(step="preview"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "After the change" in page
    assert "AI generations: 5,000 per month until" in page
    assert response.context["preview"]["pair"][1][1].allocation == "5,000 / month"
    assert response.context["preview"]["pair"][0][1].allocation == "1,000 / month"
    assert CompanyOverride.objects.count() == before
    assert _allocation(globex, "ai-generations") == 1000  # the preview never reached the document cache
    assert 'name="step" value="confirm"' in page  # the answers are carried to the confirmation


def test_confirm__raised_limit__granted_with_reason_and_expiry_and_checks_see_it(admin_on_demo: Client) -> None:
    globex = _company("globex")
    started = timezone.now()

    response = admin_on_demo.post(_grant_url(globex), _raise_generations(step="confirm"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:entitlements_company_change", args=[globex.pk])
    override = CompanyOverride.objects.get(company=globex, feature__key="ai-generations", state="active")
    assert (override.allocation, override.metric_period, override.reason, override.granted_by_label) == (
        5000,
        "current_month",
        "sales_deal",
        "root",
    )
    assert override.expires_at is not None
    assert dt.timedelta(days=30) - dt.timedelta(minutes=1) <= override.expires_at - started <= dt.timedelta(days=30)
    assert _allocation(globex, "ai-generations") == 5000
    entry = AuditEntry.objects.get(action="override.granted", target_id=override.public_id)
    assert entry.after is not None
    assert (entry.after["reason"], entry.note) == ("sales_deal", "Q4 expansion, signed by their VP")


@pytest.mark.parametrize(
    ("missing", "field"), [({"reason": ""}, "reason"), ({"note": "  "}, "note"), ({"allocation": ""}, "allocation")]
)
def test_preview__missing_answer__refused_naming_the_field_and_nothing_written(
    admin_on_demo: Client, missing: dict[str, str], field: str
) -> None:
    before = CompanyOverride.objects.count()
    for step in ("preview", "confirm"):
        response = admin_on_demo.post(_grant_url(_company("globex")), _raise_generations(step=step, **missing))
        assert response.status_code == 400
        assert field in response.context["form"].errors
    assert CompanyOverride.objects.count() == before


def test_confirm__own_date_in_the_past__refused(admin_on_demo: Client) -> None:
    past = timezone.now() - dt.timedelta(days=1)
    data = _raise_generations(
        step="confirm", expiry="date", expires_at_0=past.strftime("%Y-%m-%d"), expires_at_1="10:00:00"
    )
    response = admin_on_demo.post(_grant_url(_company("globex")), data)
    assert response.status_code == 400
    assert "The expiry must be in the future." in response.context["form"].errors["expires_at"]


def test_confirm__feature_already_has_an_exception__nothing_granted_and_the_page_says_so(
    admin_on_demo: Client,
) -> None:
    globex = _company("globex")
    data = {"feature": "brand-voice", "value_type": "boolean", "value": "true", "expiry": "none",
            "reason": "other", "note": "try again", "step": "confirm"}  # fmt: skip
    response = admin_on_demo.post(_grant_url(globex), data)
    assert response.status_code == 200
    assert "already has an exception for Brand voice" in response.content.decode()
    assert CompanyOverride.objects.filter(company=globex, feature__key="brand-voice").count() == 1


def test_grant_flow__support_user__forbidden(admin_on_demo: Client) -> None:
    support_client = _staff_client(SUPPORT)
    globex = _company("globex")
    assert support_client.get(_grant_url(globex)).status_code == 403
    assert support_client.post(_grant_url(globex), _raise_generations(step="confirm")).status_code == 403
    assert not CompanyOverride.objects.filter(company=globex, feature__key="ai-generations").exists()


def test_grant_flow__unknown_company_or_feature__404(admin_on_demo: Client) -> None:
    assert admin_on_demo.get(reverse("admin:entitlements_company_grant", args=[999999])).status_code == 404
    assert admin_on_demo.get(_grant_url(_company("globex")), {"feature": "nope"}).status_code == 404


NOW = dt.datetime(2026, 12, 4, 21, 35, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (ExpiryPreset.END_OF_MONTH, dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),  # December rolls into the next year
        (ExpiryPreset.DAYS_7, dt.datetime(2026, 12, 11, 21, 35, tzinfo=dt.UTC)),
        (ExpiryPreset.DAYS_30, dt.datetime(2027, 1, 3, 21, 35, tzinfo=dt.UTC)),
        (ExpiryPreset.DAYS_90, dt.datetime(2027, 3, 4, 21, 35, tzinfo=dt.UTC)),
        (ExpiryPreset.NONE, None),
    ],
)
def test_expiry_preset__each__instant(preset: ExpiryPreset, expected: dt.datetime | None) -> None:
    assert override_expiry_for_preset(preset, now=NOW, trial_ends_at=None) == expected


def test_expiry_preset__end_of_month_mid_year__first_of_next_month() -> None:
    june = dt.datetime(2026, 6, 30, 23, 59, tzinfo=dt.UTC)
    assert override_expiry_for_preset(ExpiryPreset.END_OF_MONTH, now=june, trial_ends_at=None) == dt.datetime(
        2026, 7, 1, tzinfo=dt.UTC
    )


def test_expiry_preset__end_of_trial__the_trial_end_or_refused_without_one() -> None:
    ends = NOW + dt.timedelta(days=9)
    assert override_expiry_for_preset(ExpiryPreset.END_OF_TRIAL, now=NOW, trial_ends_at=ends) == ends
    with pytest.raises(ValueError, match="not on a trial"):
        override_expiry_for_preset(ExpiryPreset.END_OF_TRIAL, now=NOW, trial_ends_at=None)

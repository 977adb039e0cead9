"""The "why" page behind each row of the board: the engine's decision and trace in plain words."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from entitlements.models import Company
from tests.board.conftest import BoardCatalog, company_on, use

pytestmark = pytest.mark.django_db


def _why_url(company: Company, feature_key: str) -> str:
    return reverse("admin:entitlements_company_why", args=[company.pk, feature_key])


@pytest.fixture
def blocked(board_catalog: BoardCatalog) -> Company:
    """On Pro, with all 1,000 generations of the month used."""
    company = company_on(name="Acme", plan=board_catalog.pro)
    use(company, "generation", 1000)
    return company


def _staff(*permissions: str) -> Client:
    user = User.objects.create_user(username="support", password="not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


def test_why_page__limit_reached__names_deciding_rule_summary_and_trace(admin_client: Client, blocked: Company) -> None:
    # When the account executive asks why AI generations are off
    response = admin_client.get(_why_url(blocked, "ai-generations"))

    # Then the page gives the one-line answer, the decision, the deciding rule and every rule tried
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Why AI generations is off for Acme" in page
    assert "Pro gives 1,000 generations per month; 1,000 used; blocked until 1 " in page
    assert "off — Matched plan entitlement usage exceeded rule" in page
    explanation = response.context["explanation"]
    assert explanation.deciding_rule.rule_name == "Pro: AI generations (limit reached)"
    assert explanation.deciding_rule_words.startswith("plan limit reached 'Pro: AI generations (limit reached)'")
    assert "plan limit reached 'Pro: AI generations (limit reached)'" in page
    assert "usage of 'generation' per month: 1000 is less than 1000" in page
    for line in explanation.lines:
        assert line.strip() in page
    # with the way back to the company
    assert f'href="{reverse("admin:entitlements_company_change", args=[blocked.pk])}"' in page


def test_why_page__feature_no_plan_grants__default_applies(admin_client: Client, blocked: Company) -> None:
    response = admin_client.get(_why_url(blocked, "audit-log"))

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "No plan of this company includes Audit log; off." in page
    assert "No rule matched: the flag's default (off) applies." in page
    assert response.context["explanation"].deciding_rule is None


def test_why_page__unknown_feature_or_company__404(admin_client: Client, blocked: Company) -> None:
    assert admin_client.get(_why_url(blocked, "no-such-feature")).status_code == 404
    unknown_company = reverse("admin:entitlements_company_why", args=[blocked.pk + 1000, "sso"])
    assert admin_client.get(unknown_company).status_code == 404


def test_why_page__staff_without_view_permission__403(blocked: Company) -> None:
    client = _staff()

    assert client.get(_why_url(blocked, "ai-generations")).status_code == 403


def test_why_page__staff_with_view_permission__200(blocked: Company) -> None:
    client = _staff("view_company")

    assert client.get(_why_url(blocked, "ai-generations")).status_code == 200


def test_why_page__not_logged_in__redirected_to_login(blocked: Company) -> None:
    response = Client().get(_why_url(blocked, "ai-generations"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))

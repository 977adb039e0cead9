"""The entitlement board and the history on the company change page."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import audit
from core.actors import Actor, ActorKind
from entitlements.admin.board import BoardRow
from entitlements.board.explain import when
from entitlements.models import Company
from entitlements.services.overrides import override_grant
from tests.board.conftest import BoardCatalog, company_on, use

pytestmark = pytest.mark.django_db


def _board(client: Client, company: Company) -> tuple[dict[str, BoardRow], str]:
    response = client.get(reverse("admin:entitlements_company_change", args=[company.pk]))
    assert response.status_code == 200
    rows = {row.state.feature.key: row for row in response.context["entitlement_board"]}
    return rows, html.unescape(response.content.decode())


@pytest.fixture
def trialing_with_add_on(board_catalog: BoardCatalog) -> Company:
    """On a Pro trial with the Boost add-on; 850 of 1,000 generations and all 10 exports used."""
    company = company_on(
        name="Acme",
        plan=board_catalog.pro,
        add_ons=[board_catalog.boost],
        status="trialing",
        trial_ends_at=timezone.now() + dt.timedelta(days=5),
    )
    use(company, "generation", 850)
    use(company, "export", 10)
    return company


def test_company_page__plan_add_on_and_trial__board_shows_value_usage_remaining_and_source(
    admin_client: Client, trialing_with_add_on: Company
) -> None:
    # When the account executive opens the company
    rows, page = _board(admin_client, trialing_with_add_on)

    # Then every feature of the catalog is on the board
    assert list(rows) == ["ai-generations", "audit-log", "exports", "sso"]
    # the trial's limit, near it: amber
    generations = rows["ai-generations"]
    assert generations.state.value is True
    assert (generations.allocation, generations.usage, generations.remaining) == ("1,000 / month", "850", "150")
    assert (generations.meter_percent, generations.meter_level) == (85, "near")
    assert (generations.source_label, generations.source_text) == ("Trial", "Pro")
    assert generations.resets.startswith("1 ") and generations.resets.endswith(" 00:00 UTC")
    # the add-on's limit, used up: red and off
    exports = rows["exports"]
    assert exports.state.value is False
    assert (exports.allocation, exports.usage, exports.remaining) == ("10 in total", "10", "0")
    assert (exports.meter_percent, exports.meter_level) == (100, "over")
    assert (exports.source_label, exports.source_text, exports.resets) == ("Add-on", "Boost", "—")
    # an on/off feature of the trial plan, and one no plan grants
    sso = rows["sso"]
    assert (sso.state.value, sso.meter_percent, sso.source_label, sso.source_text) == (True, None, "Trial", "Pro")
    audit_log = rows["audit-log"]
    assert (audit_log.state.value, audit_log.source_label, audit_log.allocation) == (False, "Default", "—")
    # and the page prints it, each row linking to its "why" page and to the plan that grants it
    assert 'id="entitlement-board"' in page
    assert "1,000 / month" in page and "850 used · 85%" in page and "10 used · 100% · limit reached" in page
    assert reverse("admin:entitlements_company_why", args=[trialing_with_add_on.pk, "exports"]) in page
    assert reverse("admin:catalog_plan_change", args=[trialing_with_add_on.subscriptions.get().plan_id]) in page


def test_company_page__active_override__source_names_granter_expiry_and_note(
    admin_client: Client, board_catalog: BoardCatalog
) -> None:
    # Given a company on Pro that its account executive gave 5,000 generations a month until a date
    company = company_on(name="Acme", plan=board_catalog.pro)
    use(company, "generation", 850)
    expires_at = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    override = override_grant(
        actor=Actor(kind=ActorKind.ADMIN, identifier="7", label="ada"),
        company=company,
        feature=board_catalog.generations,
        value_type="numeric",
        allocation=5000,
        metric_period="current_month",
        expires_at=expires_at,
        note="Pilot for the Q4 deal",
        now=timezone.now(),
    )

    # When the company page is opened
    rows, page = _board(admin_client, company)

    # Then the override decides, and the board says by whom, until when and why
    generations = rows["ai-generations"]
    assert (generations.allocation, generations.remaining, generations.meter_level) == ("5,000 / month", "4,150", "ok")
    assert generations.source_label == "Override"
    assert generations.source_text == f"by ada until {when(expires_at)}"
    assert generations.source_note == "Pilot for the Q4 deal"
    assert f"by ada until {when(expires_at)}" in page and "“Pilot for the Q4 deal”" in page
    # linking to the override itself, where it can be changed or revoked
    assert generations.source_url == reverse("admin:entitlements_companyoverride_change", args=[override.pk])


def test_company_page__audit_entries__recent_history_listed(admin_client: Client, board_catalog: BoardCatalog) -> None:
    # Given a company with a recorded change
    company = company_on(name="Acme", plan=board_catalog.pro)
    audit.audit_record(
        actor=Actor(kind=ActorKind.ADMIN, identifier="7", label="ada"),
        action="subscription.changed",
        target=company,
        company_id=company.public_id,
        before={"plan": "free"},
        after={"plan": "pro"},
        note="Upgraded after the demo call",
    )

    # When the company page is opened
    response = admin_client.get(reverse("admin:entitlements_company_change", args=[company.pk]))

    # Then the history lists it, with who, what changed and why
    page = html.unescape(response.content.decode())
    assert 'id="company-history"' in page
    assert "subscription.changed" in page and "plan: free → pro" in page and "Upgraded after the demo call" in page
    assert "ada (admin)" in page


def test_company_add_page__no_company_yet__no_board(admin_client: Client, board_catalog: BoardCatalog) -> None:
    response = admin_client.get(reverse("admin:entitlements_company_add"))

    assert response.status_code == 200
    assert "entitlement_board" not in response.context
    assert 'id="entitlement-board"' not in response.content.decode()

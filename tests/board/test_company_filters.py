"""The company list filters: near or at a limit, override expiring, trial ending, on the fallback plan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM_ACTOR
from entitlements.models import CompanyOverride
from entitlements.services.overrides import override_grant, override_revoke
from entitlements.services.subscriptions import subscription_put
from tests.board.conftest import BoardCatalog, company_on, use

pytestmark = pytest.mark.django_db


@pytest.fixture
def companies(board_catalog: BoardCatalog) -> None:
    """Six companies, each in one state the filters tell apart."""
    now = timezone.now()
    near = company_on(name="Near", plan=board_catalog.pro)  # 80% of the month's generations: upsell-ready
    use(near, "generation", 800)
    company_on(name="Quiet", plan=board_catalog.pro)  # nothing used
    blocked = company_on(name="Blocked", plan=board_catalog.pro)  # all of them: at the limit
    use(blocked, "generation", 1000)
    # the Boost exports used up while generations are near their limit: both at and near a limit
    both = company_on(name="Both", plan=board_catalog.pro, add_ons=[board_catalog.boost])
    use(both, "generation", 999)
    use(both, "export", 12)
    company_on(name="Ending", plan=board_catalog.pro, status="trialing", trial_ends_at=now + dt.timedelta(days=3))
    company_on(name="Later", plan=board_catalog.pro, status="trialing", trial_ends_at=now + dt.timedelta(days=8))
    lapsed = company_on(name="Lapsed", plan=board_catalog.pro)  # canceled: now live on the fallback plan
    subscription_put(actor=SYSTEM_ACTOR, company=lapsed, plan=board_catalog.pro, status="canceled", now=now)


def _listed(client: Client, **params: str) -> set[str]:
    response = client.get(reverse("admin:entitlements_company_changelist"), params)
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert {company.name for company in changelist.result_list} == {company.name for company in changelist.queryset}
    return {company.name for company in changelist.queryset}


def test_company_list__no_filter__every_company(admin_client: Client, companies: None) -> None:
    assert _listed(admin_client) == {"Near", "Quiet", "Blocked", "Both", "Ending", "Later", "Lapsed"}


def test_company_list__limits_upsell__companies_from_80_percent_of_a_limit_those_over_it_included(
    admin_client: Client, companies: None
) -> None:
    # "≥ 80 % of a limit" means what it says: a company at or over 100 % is past 80 % too (the upsell is more urgent)
    assert _listed(admin_client, limits="upsell") == {"Near", "Blocked", "Both"}


def test_company_list__limits_at_limit__companies_at_or_over_a_limit(admin_client: Client, companies: None) -> None:
    assert _listed(admin_client, limits="at_limit") == {"Blocked", "Both"}


def test_company_list__trial_ending__trials_ending_within_7_days(admin_client: Client, companies: None) -> None:
    assert _listed(admin_client, trial_ending="7d") == {"Ending"}


def test_company_list__fallback_plan__live_subscription_on_the_fallback_plan(
    admin_client: Client, companies: None
) -> None:
    assert _listed(admin_client, fallback_plan="yes") == {"Lapsed"}


def test_company_list__filters_combined__both_apply(admin_client: Client, companies: None) -> None:
    assert _listed(admin_client, limits="at_limit", q="block") == {"Blocked"}


def test_company_list__override_expiring__active_overrides_expiring_within_7_days(
    admin_client: Client, board_catalog: BoardCatalog
) -> None:
    now = timezone.now()

    def grant(name: str, expires_at: dt.datetime | None) -> CompanyOverride:
        return override_grant(
            actor=SYSTEM_ACTOR,
            company=company_on(name=name, plan=board_catalog.pro),
            feature=board_catalog.sso,
            value_type="boolean",
            value=False,
            expires_at=expires_at,
            note="Security review pending",
            now=now,
        )

    # Given overrides ending in 2 days, in 10 days, never, and one ending in 2 days but already revoked
    grant("Soon", now + dt.timedelta(days=2))
    grant("Later", now + dt.timedelta(days=10))
    grant("Forever", None)
    override_revoke(actor=SYSTEM_ACTOR, override=grant("Revoked", now + dt.timedelta(days=2)), now=now)
    company_on(name="Plain", plan=board_catalog.pro)

    assert _listed(admin_client, override_expiring="7d") == {"Soon"}


def test_company_list__filter_choices__offered_in_the_sidebar(admin_client: Client, companies: None) -> None:
    response = admin_client.get(reverse("admin:entitlements_company_changelist"))

    page = response.content.decode()
    for label in ("upsell-ready", "At or over a limit", "Within 7 days", "On the fallback plan"):
        assert label in page

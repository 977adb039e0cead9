"""The credit overview page: its figures equal sums taken independently over the grants and the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from unittest import mock

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.credit_services import credit_type_create, credit_type_update
from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.models import CreditGrant, CreditLedgerEntry
from credits.overview import credit_overview
from credits.selectors import credit_balances
from credits.services import credit_burn, credit_grant
from entitlements.models import Company
from entitlements.services.companies import company_create
from tests.credits_admin.conftest import Catalog

OVERVIEW = "admin:credits_creditaccount_overview"


def _history(catalog: Catalog, now: dt.datetime) -> tuple[Company, CreditType, CreditType]:
    """Two companies, two credit types; grants expiring soon, later, never and already; burns this month and
    last month. Acme already holds 48 AI credits (50 granted, 2 burned)."""
    ai = CreditType.objects.get(key="ai")
    api = credit_type_create(actor=SYSTEM_ACTOR, key="api", name="API credits")
    globex = company_create(actor=SYSTEM_ACTOR, name="Globex", now=now)
    acme = catalog.company

    def grant(company: Company, credit_type: CreditType, quantity: int, days: int | None) -> CreditGrant:
        expires = now + dt.timedelta(days=days) if days is not None else None
        return credit_grant(
            actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credit_type, quantity=Decimal(quantity),
            reason="promotional", now=now, expires_at=expires,
        )  # fmt: skip

    grant(acme, ai, 100, 10)  # expiring soon
    grant(acme, ai, 30, 40)  # expiring later
    grant(globex, ai, 20, 5)  # expiring soon, partly burned
    expired = grant(globex, ai, 7, 2)  # expires at the overview's instant: expired, neither owed nor expiring
    CreditGrant.objects.filter(pk=expired.pk).update(valid_from=now - dt.timedelta(days=20), expires_at=now)
    grant(globex, api, 10, None)
    credit_burn(actor=SYSTEM_ACTOR, company_id=globex.pk, credit_type=ai, quantity=Decimal("5.5"), now=now)
    credit_burn(actor=SYSTEM_ACTOR, company_id=globex.pk, credit_type=api, quantity=Decimal(4), now=now)
    credit_burn(actor=SYSTEM_ACTOR, company_id=acme.pk, credit_type=ai, quantity=Decimal(3), now=now)
    # One of Acme's burns happened last month: it is not "this month".
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = CreditLedgerEntry.objects.filter(company=acme, kind="burn").order_by("-pk").first()
    assert last is not None
    CreditLedgerEntry.objects.filter(pk=last.pk).update(created_at=month_start - dt.timedelta(seconds=1))
    return globex, ai, api


def test_credit_overview__figures__equal_independent_sums_over_grants_and_ledger(
    admin_client: Client, catalog: Catalog
) -> None:
    # Given a history of grants and burns
    now = timezone.now()
    globex, ai, api = _history(catalog, now)
    # When the overview opens at that moment
    with mock.patch("django.utils.timezone.now", return_value=now):
        response = admin_client.get(reverse(OVERVIEW))
    assert response.status_code == 200
    rows = {row.credit_type.key: row for row in response.context["overview"].rows}
    # Then each figure equals the sum the test takes itself, row by row
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    grants = list(CreditGrant.objects.all())
    entries = list(CreditLedgerEntry.objects.all())
    for credit_type in (ai, api):
        mine = [g for g in grants if g.credit_type_id == credit_type.pk]
        outstanding = sum((g.remaining for g in mine if g.expires_at is None or g.expires_at > now), Decimal(0))
        expiring = sum(
            (g.remaining for g in mine if g.expires_at and now < g.expires_at < now + dt.timedelta(days=30)),
            Decimal(0),
        )
        burned = -sum(
            (
                e.quantity
                for e in entries
                if e.credit_type_id == credit_type.pk and e.kind == "burn" and e.created_at >= month_start
            ),
            Decimal(0),
        )
        row = rows[credit_type.key]
        assert (row.outstanding, row.burned_this_month, row.expiring_soon) == (outstanding, burned, expiring)
        assert row.expiring_soon <= row.outstanding
    # And the figures are the ones the history implies
    assert (rows["ai"].outstanding, rows["ai"].burned_this_month, rows["ai"].expiring_soon) == (
        Decimal("189.5"),  # 48 + 100 + 30 - 3 (Acme) + 20 - 5.5 (Globex); the expired 7 are not owed
        Decimal("7.5"),  # 2 (the fixture's burn) + 5.5; Acme's 3 burned last month
        Decimal("111.5"),  # Acme's 100 - 3 burned from it first, Globex's 14.5 left; not the 30 expiring in 40 days
    )
    assert (rows["api"].outstanding, rows["api"].burned_this_month, rows["api"].expiring_soon) == (6, 4, 0)
    # And outstanding is what the companies' effective balances add up to (nothing is overdrawn or valid later here)
    for credit_type in (ai, api):
        balances = [
            dict(credit_balances(company_id=c.pk, now=now)).get(credit_type, 0) for c in (catalog.company, globex)
        ]
        assert sum(balances) == rows[credit_type.key].outstanding
    # And the page prints them
    page = response.content.decode()
    assert 'data-figure="outstanding">189.5<' in page and 'data-figure="expiring">111.5<' in page


def test_credit_overview__low_accounts__listed_with_their_threshold(admin_client: Client, catalog: Catalog) -> None:
    # Given Globex holds 14.5 AI credits and 6 API credits, Acme 175 AI credits
    now = timezone.now()
    globex, ai, api = _history(catalog, now)
    # When AI credits are low under 15, and API credits under 70% of what is granted (7 of 10)
    credit_type_update(actor=SYSTEM_ACTOR, credit_type=ai, low_balance_threshold=Decimal(15))
    credit_type_update(actor=SYSTEM_ACTOR, credit_type=api, low_balance_percent=70)
    with mock.patch("django.utils.timezone.now", return_value=now):
        response = admin_client.get(reverse(OVERVIEW))
    # Then Globex is listed under both, not yet alerted (no check has run), and Acme under neither
    rows = {row.credit_type.key: row for row in response.context["overview"].rows}
    assert [(a.company_name, a.balance, a.threshold, a.is_alerted) for a in rows["ai"].low_accounts] == [
        ("Globex", Decimal("14.5"), Decimal(15), False)
    ]
    assert [(a.company_name, a.balance, a.threshold) for a in rows["api"].low_accounts] == [
        ("Globex", Decimal(6), Decimal(7))
    ]
    page = response.content.decode()
    assert reverse("admin:entitlements_company_change", args=[globex.pk]) in page


def test_credit_overview__linked_from_accounts_and_readable_by_support(
    support_client: Client, catalog: Catalog
) -> None:
    accounts = support_client.get(reverse("admin:credits_creditaccount_changelist"))
    assert accounts.status_code == 200 and reverse(OVERVIEW) in accounts.content.decode()
    assert support_client.get(reverse(OVERVIEW)).status_code == 200


def test_credit_overview__any_history__four_queries(catalog: Catalog, django_assert_num_queries: Any) -> None:
    # One query each: credit types, grant sums, burns this month, low accounts — however many companies and grants.
    now = timezone.now()
    _history(catalog, now)
    with django_assert_num_queries(4):
        credit_overview(now=now)

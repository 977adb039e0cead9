"""The company list as a triage view: its columns, and a number of queries that does not grow with the companies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.documents.cache import memo_clear
from entitlements.models import Subscription
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.trials import subscription_start_trial

pytestmark = pytest.mark.django_db
LIST = "/admin/entitlements/company/"


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    calls = catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="c")
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro", is_initial=True)
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=pro, feature=calls, value_type="numeric", allocation=10, metric_period="all_time"
    )
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    return {"pro": pro, "sso": sso, "ai": ai}


def _companies(world: dict[str, Any], count: int, *, start: int = 0) -> None:
    """``count`` companies, each with a subscription, an override, credits and some usage."""
    now = timezone.now()
    for index in range(start, start + count):
        company = company_create(actor=SYSTEM_ACTOR, name=f"Company {index:04d}", keys={"id": f"c{index}"}, now=now)
        override_grant(
            actor=SYSTEM_ACTOR,
            company=company,
            feature=world["sso"],
            value_type="boolean",
            value=True,
            note="x",
            now=now,
        )
        credit_grant(
            actor=SYSTEM_ACTOR,
            company_id=company.pk,
            credit_type=world["ai"],
            quantity=Decimal(index + 1),
            reason="manual",
            now=now,
        )
        event = {"type": "track", "body": {"event": "c", "company": {"id": f"c{index}"}, "quantity": index % 11}}
        batch_capture(events=[event], actor=SYSTEM_ACTOR, now=now)


def _queries(client: Client) -> int:
    client.get(LIST)  # warms the documents of the page's rows, as checks keep them warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST).status_code == 200
    return len(captured.captured_queries)


def _cold_queries(client: Client) -> int:
    """The list's queries with every document to compile (a cache emptied, as after a restart)."""
    cache.clear()
    memo_clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST).status_code == 200
    return len(captured.captured_queries)


def test_company_list__cold_documents__compiled_together_in_queries_that_do_not_grow(
    admin_client: Client, world: dict[str, Any]
) -> None:
    _companies(world, 5)
    few = _cold_queries(admin_client)
    _companies(world, 60, start=5)
    many = _cold_queries(admin_client)
    assert few == many, (few, many)  # a page's documents compile in one round of reads, not thirteen queries a row
    assert many <= _queries(admin_client) + 16


def test_company_list__columns__plan_trial_credits_highest_usage_overrides_renewal(
    admin_client: Client, world: dict[str, Any]
) -> None:
    _companies(world, 1, start=7)
    company = company_create(actor=SYSTEM_ACTOR, name="Trialist", keys={"id": "t"}, now=timezone.now())
    subscription_start_trial(actor=SYSTEM_ACTOR, company=company, plan=world["pro"], days=5, now=timezone.now())
    html = admin_client.get(LIST).content.decode()
    assert "Pro · active" in html and "Pro · trialing" in html
    assert '<td class="field-trial_left">5 days</td>' in html
    assert "AI credits: 8" in html
    assert "Calls 70%" in html  # 7 of 10 calls
    assert '<td class="field-overrides_active">1</td>' in html
    period_end = Subscription.objects.get(company=company, status="trialing").current_period_end
    assert f'<td class="field-renews_on">{period_end:%d %b %Y}</td>' in html


def test_company_list__queries__bounded_whatever_the_number_of_companies(
    admin_client: Client, world: dict[str, Any]
) -> None:
    _companies(world, 20)
    few = _queries(admin_client)
    _companies(world, 130, start=20)  # more than a page of 100
    many = _queries(admin_client)
    assert few == many
    # session, user, trial plans (actions), count ×2, the page, keys, credit accounts, catalog features, the four
    # saved views answered by a selector (a count each), plans
    assert many == 14, many

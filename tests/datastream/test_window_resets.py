"""Which companies a window boundary concerns, when the next boundary comes, and the catch-up of the scheduled job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.datastream.window_resets import (
    companies_with_documents_turning,
    companies_with_windows_ended,
    next_window_boundary,
    window_resets_push_due,
)
from entitlements.models import Company, UsageCounter
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.subscriptions import subscription_put

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# A Saturday, the last day of a month: the next midnight ends a day, a week (Sunday) and a month (the 1st).
SATURDAY_EVENING = dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
SUNDAY_MIDNIGHT = dt.datetime(2026, 11, 1, tzinfo=UTC)


def _company(name: str) -> Company:
    return company_create(actor=SYSTEM_ACTOR, name=name, keys={"external_id": name.lower()}, now=SATURDAY_EVENING)


def _counter(company: Company, period: str, reset: str, window_start: dt.datetime, value: int) -> None:
    UsageCounter.objects.create(
        company=company, event_name="generation", period=period, month_reset=reset, window_start=window_start,
        value=value,
    )  # fmt: skip


def test_calendar_boundary__companies_with_a_count_in_an_ended_window() -> None:
    day, week, month, idle, fresh = (_company(n) for n in ["Day", "Week", "Month", "Idle", "Fresh"])
    _counter(day, "current_day", "first_of_month", dt.datetime(2026, 10, 31, tzinfo=UTC), 4)
    _counter(week, "current_week", "first_of_month", dt.datetime(2026, 10, 25, tzinfo=UTC), 2)
    _counter(month, "current_month", "first_of_month", dt.datetime(2026, 10, 1, tzinfo=UTC), 9)
    _counter(idle, "current_day", "first_of_month", dt.datetime(2026, 10, 31, tzinfo=UTC), 0)  # nothing to reset
    _counter(fresh, "current_day", "first_of_month", SUNDAY_MIDNIGHT, 1)  # already in the new window
    _counter(fresh, "all_time", "first_of_month", dt.datetime(1970, 1, 1, tzinfo=UTC), 50)  # never resets

    assert companies_with_windows_ended(since=SATURDAY_EVENING, until=SUNDAY_MIDNIGHT) == {day.pk, week.pk, month.pk}
    assert (
        companies_with_windows_ended(since=SATURDAY_EVENING, until=SUNDAY_MIDNIGHT - dt.timedelta(seconds=1)) == set()
    )
    assert companies_with_windows_ended(since=SUNDAY_MIDNIGHT, until=SUNDAY_MIDNIGHT + dt.timedelta(hours=1)) == set()


def test_billing_cycle_boundary__at_the_company_anchor() -> None:
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    company = _company("Billed")
    anchor = dt.datetime(2026, 10, 15, 9, 30, tzinfo=UTC)
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=plan, now=anchor, current_period_start=anchor)
    _counter(company, "current_month", "billing_cycle", anchor, 7)
    next_anchor = dt.datetime(2026, 11, 15, 9, 30, tzinfo=UTC)

    assert next_window_boundary(after=dt.datetime(2026, 11, 14, 23, 59, tzinfo=UTC)) == dt.datetime(
        2026, 11, 15, tzinfo=UTC
    )  # midnight comes first
    assert next_window_boundary(after=dt.datetime(2026, 11, 15, 1, tzinfo=UTC)) == next_anchor
    before, after = next_anchor - dt.timedelta(minutes=1), next_anchor + dt.timedelta(minutes=1)
    assert companies_with_windows_ended(since=before, until=after) == {company.pk}
    assert companies_with_windows_ended(since=after, until=after + dt.timedelta(minutes=1)) == set()


def test_scheduled_job__catches_up_from_where_it_stopped_and_pushes_once() -> None:
    company = _company("Acme")
    _counter(company, "current_day", "first_of_month", dt.datetime(2026, 10, 31, tzinfo=UTC), 3)
    cache.delete("datastream:window-resets:until")

    assert window_resets_push_due(now=SATURDAY_EVENING) == 0
    # The next run is late (the boundary passed 10 minutes ago): it still covers it, from where the last run stopped.
    assert window_resets_push_due(now=SUNDAY_MIDNIGHT + dt.timedelta(minutes=10)) == 1
    assert window_resets_push_due(now=SUNDAY_MIDNIGHT + dt.timedelta(minutes=11)) == 0


def test_override_and_credit_grant_ending__document_pushed_at_that_instant() -> None:
    feature = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    credits = credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits")
    overridden, credited, other = (_company(name) for name in ["Overridden", "Credited", "Other"])
    five_pm = dt.datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    override_grant(
        actor=SYSTEM_ACTOR, company=overridden, feature=feature, value_type="boolean", value=True,
        note="until the deal closes", expires_at=five_pm, now=SATURDAY_EVENING,
    )  # fmt: skip
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=credited.pk, credit_type=credits, quantity=Decimal("10"), reason="promotional",
        now=SATURDAY_EVENING, expires_at=five_pm + dt.timedelta(minutes=30),
    )  # fmt: skip

    assert next_window_boundary(after=dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) == five_pm
    assert next_window_boundary(after=five_pm) == five_pm + dt.timedelta(minutes=30)
    minute = dt.timedelta(minutes=1)
    assert companies_with_documents_turning(since=five_pm - minute, until=five_pm) == {overridden.pk}
    assert companies_with_documents_turning(since=five_pm, until=five_pm + 2 * minute) == set()
    assert companies_with_documents_turning(since=five_pm, until=five_pm + 30 * minute) == {credited.pk}
    assert other.pk not in companies_with_documents_turning(since=SATURDAY_EVENING, until=five_pm + 30 * minute)

"""The usage history page of a company and feature: daily usage over 90 days with the limit drawn, and usage per
metric window; and the reads behind it (``usage_daily_totals``, ``usage_period_totals``)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Plan
from core.actors import SYSTEM_ACTOR
from core.permissions import SUPPORT
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture
from entitlements.selectors import usage_daily_totals, usage_period_totals
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _track(company: Company, event: str, quantity: int, at: dt.datetime) -> None:
    """Record ``quantity`` of ``event`` for the company as having happened at ``at`` (a batch received then)."""
    external_id = company.keys.get(name="external_id").value
    body = {"event": event, "company": {"external_id": external_id}, "quantity": quantity}
    outcome = batch_capture(events=[{"type": "track", "body": body}], actor=SYSTEM_ACTOR, now=at)
    assert outcome.accepted == 1 and not outcome.rejected, outcome


def _company(name: str, *, now: dt.datetime | None = None) -> Company:
    moment = now or timezone.now()
    return company_create(actor=SYSTEM_ACTOR, name=name, keys={"external_id": name.lower()}, now=moment)


def _demo(external_id: str) -> Company:
    return Company.objects.get(keys__name="external_id", keys__value=external_id)


def _url(company: Company | int, feature_key: str) -> str:
    company_pk = company if isinstance(company, int) else company.pk
    return reverse("admin:entitlements_company_usage_history", args=[company_pk, feature_key])


def _page(client: Client, company: Company, feature_key: str) -> tuple[Any, str]:
    response = client.get(_url(company, feature_key))
    assert response.status_code == 200
    return response, html.unescape(response.content.decode())


def _today_at(days_ago: int, hour: int = 12) -> dt.datetime:
    today = timezone.now().astimezone(UTC).date() - dt.timedelta(days=days_ago)
    return dt.datetime(today.year, today.month, today.day, hour, tzinfo=UTC)


def _label(moment: dt.datetime) -> str:
    return f"{moment.day} {moment:%b}"


def _week(sunday: dt.datetime) -> str:
    """A week's span as the table writes it: ``29 Nov – 5 Dec 2026`` (the year on the first day only if it differs)."""
    saturday = sunday + dt.timedelta(days=6)
    first = f"{sunday.day} {sunday:%b}" + (f" {sunday.year}" if sunday.year != saturday.year else "")
    return f"{first} – {saturday.day} {saturday:%b %Y}"


@pytest.fixture
def support_client(admin_on_demo: Client) -> Client:
    """A staff member of the Support group only: views everything, changes nothing."""
    user = get_user_model().objects.create_user("support", "support@example.test", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    client = Client()
    client.force_login(user)
    return client


# --- The reads ------------------------------------------------------------------------------------------------------


def test_usage_daily_totals__events_on_known_days__every_day_zero_filled_corrections_subtracted(
    admin_on_demo: Client,
) -> None:
    # Given a company's events on known days of March 2025, with a correction, and noise that must not count:
    # another company's events, another event of the same company, and events just outside the days asked for
    wayne = _company("Wayne", now=dt.datetime(2025, 3, 1, tzinfo=UTC))
    other = _company("Stark", now=dt.datetime(2025, 3, 1, tzinfo=UTC))
    _track(wayne, "generation", 5, dt.datetime(2025, 3, 10, 0, 0, tzinfo=UTC))  # the first instant of the 10th
    _track(wayne, "generation", 1_200, dt.datetime(2025, 3, 10, 23, 59, 59, tzinfo=UTC))
    _track(wayne, "generation", 7, dt.datetime(2025, 3, 12, 8, tzinfo=UTC))
    _track(wayne, "generation", -3, dt.datetime(2025, 3, 12, 9, tzinfo=UTC))  # a correction
    _track(wayne, "generation", 100, dt.datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC))  # before ``since``
    _track(wayne, "generation", 100, dt.datetime(2025, 3, 14, 0, 0, tzinfo=UTC))  # ``until`` is excluded
    _track(wayne, "image-export", 50, dt.datetime(2025, 3, 11, 12, tzinfo=UTC))
    _track(other, "generation", 50, dt.datetime(2025, 3, 11, 12, tzinfo=UTC))

    # When the days of 10–13 March are summed
    totals = usage_daily_totals(
        company=wayne, event_name="generation", since=dt.date(2025, 3, 10), until=dt.date(2025, 3, 14)
    )

    # Then every day is there, in order, with exactly its company's net usage of that event
    assert totals == [
        (dt.date(2025, 3, 10), 1_205),
        (dt.date(2025, 3, 11), 0),
        (dt.date(2025, 3, 12), 4),
        (dt.date(2025, 3, 13), 0),
    ]


def test_usage_period_totals__calendar_months__newest_first_each_window_summed(admin_on_demo: Client) -> None:
    # Given usage in January, February (with a correction) and March 2025
    wayne = _company("Wayne", now=dt.datetime(2025, 1, 1, tzinfo=UTC))
    _track(wayne, "generation", 10, dt.datetime(2025, 1, 31, 23, 59, tzinfo=UTC))
    _track(wayne, "generation", 20, dt.datetime(2025, 2, 1, 0, 0, tzinfo=UTC))
    _track(wayne, "generation", -5, dt.datetime(2025, 2, 27, tzinfo=UTC))
    _track(wayne, "generation", 3, dt.datetime(2025, 3, 2, tzinfo=UTC))

    # When the three calendar months up to 5 March are asked for
    windows = usage_period_totals(
        company=wayne,
        event_name="generation",
        period="current_month",
        month_reset="first_of_month",
        now=dt.datetime(2025, 3, 5, tzinfo=UTC),
        count=3,
    )

    # Then they come newest first, each with its own usage
    assert [(w.start, w.end, w.used) for w in windows] == [
        (dt.datetime(2025, 3, 1, tzinfo=UTC), dt.datetime(2025, 4, 1, tzinfo=UTC), 3),
        (dt.datetime(2025, 2, 1, tzinfo=UTC), dt.datetime(2025, 3, 1, tzinfo=UTC), 15),
        (dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC), 10),
    ]


def test_usage_period_totals__billing_cycle__windows_start_at_the_subscription_anchor(admin_on_demo: Client) -> None:
    # Given a Pro company whose billing period started on 15 February 2025 at 10:00
    pro = Plan.objects.get(key="pro")
    wayne = _company("Wayne", now=dt.datetime(2025, 1, 1, tzinfo=UTC))
    subscription_put(
        actor=SYSTEM_ACTOR,
        company=wayne,
        plan=pro,
        current_period_start=dt.datetime(2025, 2, 15, 10, tzinfo=UTC),
        current_period_end=dt.datetime(2025, 3, 15, 10, tzinfo=UTC),
        now=dt.datetime(2025, 2, 15, 10, tzinfo=UTC),
    )
    # and usage on either side of two anchors
    _track(wayne, "generation", 1, dt.datetime(2025, 2, 15, 9, 59, tzinfo=UTC))
    _track(wayne, "generation", 2, dt.datetime(2025, 2, 15, 10, 0, tzinfo=UTC))
    _track(wayne, "generation", 4, dt.datetime(2025, 3, 15, 9, 59, tzinfo=UTC))
    _track(wayne, "generation", 8, dt.datetime(2025, 3, 15, 10, 0, tzinfo=UTC))

    # When the billing months up to 1 March are asked for
    windows = usage_period_totals(
        company=wayne,
        event_name="generation",
        period="current_month",
        month_reset="billing_cycle",
        now=dt.datetime(2025, 3, 1, tzinfo=UTC),
        count=2,
    )

    # Then they run from anchor to anchor: 15 Feb 10:00 – 15 Mar 10:00 holds 2 + 4, the month before only the 1
    assert [(w.start, w.end, w.used) for w in windows] == [
        (dt.datetime(2025, 2, 15, 10, tzinfo=UTC), dt.datetime(2025, 3, 15, 10, tzinfo=UTC), 6),
        (dt.datetime(2025, 1, 15, 10, tzinfo=UTC), dt.datetime(2025, 2, 15, 10, tzinfo=UTC), 1),
    ]


# --- The page -------------------------------------------------------------------------------------------------------


def test_usage_history_page__monthly_limit_with_soft_limit__chart_lines_and_table_in_readable_numbers(
    admin_on_demo: Client,
) -> None:
    # Given Globex of the demo (Pro: 1,000 generations per billing month, soft limit 800) with usage on known days
    globex = _demo("globex")
    _track(globex, "generation", 1_204, _today_at(2))
    _track(globex, "generation", 30, _today_at(0, hour=0))
    _track(globex, "generation", -4, _today_at(0, hour=1))  # a correction the same day

    # When the account executive opens its history of AI generations
    response, page = _page(admin_on_demo, globex, "ai-generations")

    # Then the page names the limit with its period and the soft limit, commas in every number
    assert "Usage of AI generations by Globex" in page
    assert "1,000 / month" in page and "soft limit 800" in page
    assert "months follow the billing period" in page
    # the chart has 90 daily bars, each with its day and its net usage as tooltip
    bars = re.findall(r'<rect class="usage-bar"[^>]*><title>([^<]*)</title>', page)
    assert len(bars) == 90
    assert bars[-3].startswith(f"{_label(_today_at(2))}: 1,204 (")
    assert bars[-1].startswith(f"{_label(_today_at(0))}: 26 (")
    assert bars[-2].startswith(f"{_label(_today_at(1))}: 0 (")
    # the limit as a labelled line, the soft limit dashed, and the running total of each billing month as a line
    assert 'class="usage-limit"' in page and "Limit 1,000 / month</text>" in page
    assert 'class="usage-soft-limit"' in page and "Soft limit 800</text>" in page
    assert '<polyline class="usage-cumulative"' in page
    # the running total reaches the usage of the current billing month on its last day
    current = response.context["history"].periods[0]
    assert bars[-1].endswith(f" ({current.used} so far this billing month)")
    # and the table lists the billing months with usage, newest first, against the limit (none before the first)
    assert len(response.context["history"].periods) == 1
    assert current.is_current and current.limit == "1,000"
    assert current.used == "1,230" and current.percent == "123%" and current.is_over
    assert "Usage per billing month" in page


def test_usage_history_page__billing_month_starting_mid_day__running_total_counts_only_its_part_of_that_day(
    admin_on_demo: Client,
) -> None:
    # Given a Pro company whose billing month began ten days ago at 10:00, with usage before and after that instant
    pro = Plan.objects.get(key="pro")
    anchor = _today_at(10, hour=10)
    wayne = _company("Wayne", now=anchor - dt.timedelta(days=60))
    subscription_put(
        actor=SYSTEM_ACTOR,
        company=wayne,
        plan=pro,
        current_period_start=anchor,
        current_period_end=anchor + dt.timedelta(days=30),
        now=anchor,
    )
    _track(wayne, "generation", 900, anchor - dt.timedelta(days=1))  # the previous billing month
    _track(wayne, "generation", 40, anchor - dt.timedelta(hours=1))  # the same day, still the previous month
    _track(wayne, "generation", 3, anchor + dt.timedelta(hours=1))
    _track(wayne, "generation", 5, anchor + dt.timedelta(days=1))

    # When its history is opened
    response, page = _page(admin_on_demo, wayne, "ai-generations")

    # Then the anchor's day shows all its usage, but the month's running total starts from that day's 10:00 on
    bars = re.findall(r"<title>([^<]*)</title></rect>", page)
    by_day = {title.split(":")[0]: title for title in bars}
    assert (
        by_day[_label(anchor - dt.timedelta(days=1))]
        == f"{_label(anchor - dt.timedelta(days=1))}: 900 (900 so far this billing month)"
    )
    assert by_day[_label(anchor)] == f"{_label(anchor)}: 43 (3 so far this billing month)"
    assert by_day[_label(anchor + dt.timedelta(days=1))].endswith(": 5 (8 so far this billing month)")
    assert by_day[_label(_today_at(0))].endswith(" (8 so far this billing month)")
    # and the table agrees: 8 in the current billing month, 940 in the one before
    periods = response.context["history"].periods
    assert (periods[0].used, periods[1].used) == ("8", "940")
    assert periods[0].span.endswith(" 10:00 UTC")


def test_usage_history_page__daily_limit__line_at_the_allocation_and_no_running_total(admin_on_demo: Client) -> None:
    # Given Umbrella of the demo (Free: 5 image exports a day), over its limit yesterday
    umbrella = _demo("umbrella")
    _track(umbrella, "image-export", 6, _today_at(1))

    # When its history of image exports is opened
    response, page = _page(admin_on_demo, umbrella, "image-exports")

    # Then the limit is a line at 5 a day that the bars are read against, with no running total
    assert "Limit 5 / day</text>" in page
    assert '<polyline class="usage-cumulative"' not in page and 'class="usage-soft-limit"' not in page
    assert f"{_label(_today_at(1))}: 6</title>" in page
    # and the table lists the days since the first with usage (yesterday), yesterday over its limit
    periods = response.context["history"].periods
    assert len(periods) == 2
    assert (periods[1].used, periods[1].limit, periods[1].percent, periods[1].is_over) == ("6", "5", "120%", True)
    assert periods[1].span == f"{_today_at(1).day} {_today_at(1):%b %Y}"


def test_usage_history_page__all_time_limit__running_total_includes_usage_before_the_chart(
    admin_on_demo: Client,
) -> None:
    # Given Umbrella (Free: 10 documents in all) that created 4 documents 200 days ago and 3 a week ago
    umbrella = _demo("umbrella")
    _track(umbrella, "document-created", 4, _today_at(200))
    _track(umbrella, "document-created", 3, _today_at(7))

    # When its history of documents is opened
    response, page = _page(admin_on_demo, umbrella, "documents")

    # Then the running total starts at the 4 from before the chart and ends at 7, against the limit of 10
    assert "Limit 10 in total</text>" in page
    bars = re.findall(r"<title>([^<]*)</title></rect>", page)
    assert bars[0].endswith(" (4 in all)") and bars[-1].endswith(" (7 in all)")
    assert [(p.span, p.used, p.percent) for p in response.context["history"].periods] == [("All time", "7", "70%")]


def test_usage_history_page__weekly_limit__running_total_restarts_each_sunday(admin_on_demo: Client) -> None:
    # Given a plan of 100 API calls a week (weeks start on Sunday, UTC) and a company on it
    actor = SYSTEM_ACTOR
    feature = catalog_services.feature_create(
        actor=actor, key="api-calls", name="API calls", feature_type="event", event_name="api-call"
    )
    weekly = catalog_services.plan_create(actor=actor, key="weekly", name="Weekly")
    catalog_services.entitlement_create(
        actor=actor, plan=weekly, feature=feature, value_type="numeric", allocation=100, metric_period="current_week"
    )
    wayne = _company("Wayne")
    subscription_put(actor=actor, company=wayne, plan=weekly, now=timezone.now())
    # with calls on the Saturday and the Sunday of last week's turn, and on the Monday after
    this_sunday = _today_at((timezone.now().weekday() + 1) % 7)
    saturday, sunday, monday = (this_sunday + dt.timedelta(days=offset - 7) for offset in (-1, 0, 1))
    for moment, quantity in ((saturday, 60), (sunday, 30), (monday, 2_000)):
        _track(wayne, "api-call", quantity, moment)

    # When its history is opened
    response, page = _page(admin_on_demo, wayne, "api-calls")

    # Then the Saturday closes its week at 60, the Sunday starts a new one at 30, the Monday takes it to 2,030
    assert "Limit 100 / week</text>" in page
    assert f"{_label(saturday)}: 60 (60 so far this week)</title>" in page
    assert f"{_label(sunday)}: 30 (30 so far this week)</title>" in page
    assert f"{_label(monday)}: 2,000 (2,030 so far this week)</title>" in page
    # and the table shows whole weeks, Sunday to Saturday, newest first
    periods = response.context["history"].periods
    assert [(p.span, p.used, p.percent) for p in periods] == [
        (_week(this_sunday), "0", "0%"),
        (_week(sunday), "2,030", "2,030%"),
        (_week(sunday - dt.timedelta(days=7)), "60", "60%"),
    ]


def test_usage_history_page__unlimited_feature__no_limit_line(admin_on_demo: Client) -> None:
    # Given Acme of the demo on Enterprise (unlimited generations)
    _response, page = _page(admin_on_demo, _demo("acme"), "ai-generations")

    # Then there is usage to chart but no limit to draw
    assert "Unlimited: no limit to draw." in page
    assert 'class="usage-limit"' not in page
    assert len(re.findall(r'<rect class="usage-bar"', page)) == 90


def test_usage_history_page__credit_feature__usage_charted_and_the_balance_named_as_its_limit(
    admin_on_demo: Client,
) -> None:
    # Given Globex of the demo (Pro: AI images at 2 AI credits each, 500 credits granted this period) using 1,500
    globex = _demo("globex")
    _track(globex, "image-generation", 1_500, _today_at(1))

    # When its history of AI images is opened
    response, page = _page(admin_on_demo, globex, "ai-images")

    # Then the usage is charted, and the balance is named as the limit, in readable numbers (no line to draw)
    assert f"{_label(_today_at(1))}: 1,500</title>" in page
    assert response.context["history"].limit_note.startswith("Paid with credits, 2 per image: the limit is the balance")
    assert re.search(r"the balance, [\d,]+ credits left now", page)
    assert ".000000" not in page
    assert 'class="usage-limit"' not in page


@pytest.mark.parametrize(
    ("feature_key", "expected"),
    [
        ("sso", "Single sign-on is switched on or off, not metered: there is no usage to show."),
        ("seats", "metered by the company trait “seats_used” (now 4), not by tracked events"),
    ],
)
def test_usage_history_page__boolean_or_trait_feature__says_there_is_no_usage_to_show(
    admin_on_demo: Client, feature_key: str, expected: str
) -> None:
    response, page = _page(admin_on_demo, _demo("globex"), feature_key)

    assert expected in page
    assert 'class="usage-chart"' not in page and response.context["history"] is None


def test_usage_history_page__support_user__can_view_it(admin_on_demo: Client, support_client: Client) -> None:
    globex = _demo("globex")
    _track(globex, "generation", 2_500, _today_at(3))

    _response, page = _page(support_client, globex, "ai-generations")

    assert f"{_label(_today_at(3))}: 2,500 (" in page
    assert "Limit 1,000 / month</text>" in page


def test_usage_history_page__staff_without_view_permission__403(admin_on_demo: Client) -> None:
    user = get_user_model().objects.create_user("nobody", "nobody@example.test", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_feature"))
    client = Client()
    client.force_login(user)

    assert client.get(_url(_demo("globex"), "ai-generations")).status_code == 403


def test_usage_history_page__unknown_feature_or_company__404(admin_on_demo: Client) -> None:
    globex = _demo("globex")

    assert admin_on_demo.get(_url(globex, "no-such-feature")).status_code == 404
    assert admin_on_demo.get(_url(globex.pk + 1000, "ai-generations")).status_code == 404
    not_a_pk = reverse("admin:entitlements_company_usage_history", args=["not-a-pk", "ai-generations"])
    assert admin_on_demo.get(not_a_pk).status_code == 404


def test_usage_history_page__queries__pinned(admin_on_demo: Client, django_assert_max_num_queries: Any) -> None:
    # Given a company with usage, whose document the first visit compiles
    globex = _demo("globex")
    _track(globex, "generation", 10, _today_at(40))
    admin_on_demo.get(_url(globex, "ai-generations"))

    # Then a warm visit costs ten queries: the admin's session and user, the company, the feature, the board's
    # catalog of features (its documents come from the cache), the daily totals, the live subscription and its
    # add-ons (billing months follow its period), the window totals, and the first window's part before the chart
    with django_assert_max_num_queries(10):
        response = admin_on_demo.get(_url(globex, "ai-generations"))
    assert response.status_code == 200


def test_company_page__board__history_link_on_event_features_only(admin_on_demo: Client) -> None:
    globex = _demo("globex")

    response = admin_on_demo.get(reverse("admin:entitlements_company_change", args=[globex.pk]))

    page = response.content.decode()
    for feature_key in ("ai-generations", "image-exports", "documents"):
        assert f'href="{_url(globex, feature_key)}"' in page
    for feature_key in ("sso", "seats", "brand-voice"):
        assert f'href="{_url(globex, feature_key)}"' not in page

"""The company list says why each company matched its filters ("Matched because"), and its saved views link to the
lists the home page counts: each a list of exactly the companies its selector returns, for a bounded number of
queries."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.admin.filters import SAVED_VIEWS, LimitsFilter, SelectorFilter
from entitlements.board.entitlement_board import company_entitlement_boards
from entitlements.models import Company, CompanyOverride, Subscription
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.subscriptions import subscription_put
from entitlements.services.trials import subscription_start_trial
from entitlements.templatetags.backoffice_queues import backoffice_queues_get

pytestmark = pytest.mark.django_db
LIST = "/admin/entitlements/company/"


def _day(moment: dt.datetime) -> str:
    """A day as the list writes it (UTC, the project's time zone): "7 Dec", with the year when not this year's."""
    return f"{moment.day} {moment:%b}" + ("" if moment.year == timezone.now().year else f" {moment.year}")


def _reasons(client: Client, query: str) -> dict[str, str]:
    """Company name → its "Matched because" cell, for the list opened with ``query``."""
    page = client.get(f"{LIST}{query}").content.decode()
    rows = re.findall(
        r'<th class="field-name"><a [^>]*>([^<]*)</a></th><td class="field-matched_because">([^<]*)</td>', page
    )
    return {html.unescape(name): html.unescape(reason) for name, reason in rows}


def _listed(client: Client, query: str) -> set[str]:
    """The names of every company the list opened with ``query`` holds (all pages: its queryset)."""
    response = client.get(f"{LIST}{query}")
    assert response.status_code == 200
    return {company.name for company in response.context["cl"].queryset}


def _saved_view_links(page: str) -> list[tuple[str, str, str | None, bool]]:
    """(label, link, count or None, is marked active) of each saved view above the list."""
    pattern = r'<a class="saved-view( active)?" href="([^"]+)"[^>]*>([^<]*?)(?: <span class="count">(\d+)</span>)?</a>'
    return [
        (html.unescape(label), html.unescape(url), count or None, bool(active))
        for active, url, label, count in re.findall(pattern, page)
    ]


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warms the documents the page reads, as checks keep them warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Pro (the initial plan, 1,000 AI images for all time) and Free (the fallback plan), and one company in each
    saved view: a trial ending in 3 days with 920 images used, a company at its limit, an override expiring in two
    days, a period ending in 20 days, a company silent for 21 days and one on the fallback plan."""
    now = timezone.now()
    images = catalog.feature_create(
        actor=SYSTEM_ACTOR, key="ai-images", name="AI images", feature_type="event", event_name="image"
    )
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro", is_initial=True)
    free = catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free", is_fallback=True)
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=pro, feature=images, value_type="numeric", allocation=1000, metric_period="all_time"
    )

    def company(name: str, *, period_days: int = 90) -> Company:
        created = company_create(actor=SYSTEM_ACTOR, name=name, keys={"id": name.lower()}, now=now)
        # a quarter-long period keeps every company out of "renewing in 30 days" but the renewer
        subscription_put(
            actor=SYSTEM_ACTOR,
            company=created,
            plan=pro,
            current_period_start=now - dt.timedelta(days=10),
            current_period_end=now + dt.timedelta(days=period_days),
            now=now,
        )
        return created

    def images_used(name: str, quantity: int, *, at: dt.datetime) -> None:
        event = {"type": "track", "body": {"event": "image", "company": {"id": name.lower()}, "quantity": quantity}}
        batch_capture(events=[event], actor=SYSTEM_ACTOR, now=at)

    trialist = company("Trialist")
    subscription_start_trial(actor=SYSTEM_ACTOR, company=trialist, plan=pro, days=3, now=now)
    images_used("Trialist", 920, at=now)
    company("Capped")
    images_used("Capped", 1000, at=now)
    expiring = company("Expiring")
    override_grant(
        actor=SYSTEM_ACTOR,
        company=expiring,
        feature=sso,
        value_type="boolean",
        value=True,
        note="pilot",
        expires_at=now + dt.timedelta(days=2, hours=1),
        now=now,
    )
    company("Renewer", period_days=20)
    company("Quiet")
    images_used("Quiet", 1, at=now - dt.timedelta(days=21))
    lapsed = company("Lapsed")
    subscription_put(actor=SYSTEM_ACTOR, company=lapsed, plan=free, now=now)
    return {"pro": pro, "free": free, "sso": sso, "images": images, "now": now}


def test_matched_because__no_filter__column_absent(admin_client: Client, world: dict[str, Any]) -> None:
    # Given companies in every saved view; When the list is opened without a filter
    page = admin_client.get(LIST).content.decode()
    # Then nothing is explained
    assert "Matched because" not in page and "field-matched_because" not in page
    # nor with a value no filter knows (it leaves the list as it is)
    assert "field-matched_because" not in admin_client.get(f"{LIST}?trial_ending=tomorrow").content.decode()


def test_matched_because__trial_ending__days_left_and_the_day(admin_client: Client, world: dict[str, Any]) -> None:
    ends = Subscription.objects.get(company__name="Trialist", status="trialing").trial_ends_at
    assert ends is not None
    assert _reasons(admin_client, "?trial_ending=7d") == {"Trialist": f"trial ends in 3 days ({_day(ends)})"}


def test_matched_because__override_expiring__feature_and_day(admin_client: Client, world: dict[str, Any]) -> None:
    expires = CompanyOverride.objects.get(company__name="Expiring").expires_at
    assert expires is not None
    assert _reasons(admin_client, "?override_expiring=7d") == {"Expiring": f"override on SSO expires {_day(expires)}"}


def test_matched_because__override_expiring__every_expiring_override_soonest_first(
    admin_client: Client, world: dict[str, Any]
) -> None:
    # Given a second override of the same company, expiring sooner, and one that never expires elsewhere
    now = timezone.now()
    expiring = Company.objects.get(name="Expiring")
    soonest = now + dt.timedelta(days=1)
    override_grant(
        actor=SYSTEM_ACTOR,
        company=expiring,
        feature=world["images"],
        value_type="unlimited",
        note="launch",
        expires_at=soonest,
        now=now,
    )
    override_grant(
        actor=SYSTEM_ACTOR,
        company=Company.objects.get(name="Capped"),
        feature=world["sso"],
        value_type="boolean",
        value=True,
        note="forever",
        now=now,
    )
    later = CompanyOverride.objects.get(company=expiring, feature=world["sso"]).expires_at
    assert later is not None
    # Then the company's cell names both, soonest first, and the override without expiry lists no one
    assert _reasons(admin_client, "?override_expiring=7d") == {
        "Expiring": f"override on AI images expires {_day(soonest)}, override on SSO expires {_day(later)}"
    }


def test_matched_because__renewal__the_period_end(admin_client: Client, world: dict[str, Any]) -> None:
    end = Subscription.objects.get(company__name="Renewer", status="active").current_period_end
    assert _reasons(admin_client, "?renewal=30d") == {"Renewer": f"renews {_day(end)}"}


def test_matched_because__silent__days_since_the_last_usage(admin_client: Client, world: dict[str, Any]) -> None:
    last = world["now"] - dt.timedelta(days=21)
    assert _reasons(admin_client, "?activity=silent") == {"Quiet": f"no usage for 21 days (last {_day(last)})"}


def test_matched_because__fallback_plan__names_the_plan(admin_client: Client, world: dict[str, Any]) -> None:
    assert _reasons(admin_client, "?fallback_plan=yes") == {"Lapsed": "on the fallback plan (Free)"}


def test_matched_because__limits__feature_share_and_limit(admin_client: Client, world: dict[str, Any]) -> None:
    assert _reasons(admin_client, "?limits=upsell") == {
        "Capped": "AI images at 100 % of 1,000",
        "Trialist": "AI images at 92 % of 1,000",
    }
    assert _reasons(admin_client, "?limits=at_limit") == {"Capped": "AI images at 100 % of 1,000"}


def test_matched_because__two_filters__both_reasons_in_the_filters_order(
    admin_client: Client, world: dict[str, Any]
) -> None:
    ends = Subscription.objects.get(company__name="Trialist", status="trialing").trial_ends_at
    assert ends is not None
    assert _reasons(admin_client, "?limits=upsell&trial_ending=7d") == {
        "Trialist": f"trial ends in 3 days ({_day(ends)}); AI images at 92 % of 1,000"
    }


def _expected(view_slug: str, now: dt.datetime) -> set[str]:
    """The companies a saved view should list: its selector's, or for the limits views the boards' own verdict."""
    view = next(view for view in SAVED_VIEWS if view.slug == view_slug)
    if issubclass(view.filter, SelectorFilter):
        return set(view.filter.companies(now=now).values_list("name", flat=True))
    assert issubclass(view.filter, LimitsFilter)
    boards = company_entitlement_boards(company_ids=Company.objects.values_list("pk", flat=True), now=now)
    matching = [pk for pk, rows in boards.items() if any(LimitsFilter.row_matches(view.value, row) for row in rows)]
    return set(Company.objects.filter(pk__in=matching).values_list("name", flat=True))


def _check_saved_views(client: Client) -> None:
    """Every saved view above the list lands on exactly the companies its selector returns, is marked there, and
    its count (where shown) is that list's length; the home page's queues link to the same views."""
    links = _saved_view_links(client.get(LIST).content.decode())
    assert [label for label, _, _, _ in links] == [view.label for view in SAVED_VIEWS]
    assert not any(active for _, _, _, active in links)  # the unfiltered list is none of them
    for view, (_, url, count, _) in zip(SAVED_VIEWS, links, strict=True):
        assert url == view.query_string
        listed = _listed(client, url)
        assert listed == _expected(view.slug, timezone.now()), view.slug
        if count is not None:
            assert count == str(len(listed)), view.slug
        marked = [
            (label, count)
            for label, _, count, active in _saved_view_links(client.get(LIST + url).content.decode())
            if active
        ]
        assert marked == [(view.label, str(len(listed)))], view.slug  # the view shown: marked, with the list's count
    home = {queue.url: queue for queue in backoffice_queues_get(now=timezone.now())}
    for view in SAVED_VIEWS:
        if f"{LIST}{view.query_string}" in home:
            assert home[f"{LIST}{view.query_string}"].label == view.label


def test_saved_views__hand_built__each_link_lists_its_selectors_companies(
    admin_client: Client, world: dict[str, Any]
) -> None:
    _check_saved_views(admin_client)
    # Given one company in each view, Then each view's list is that company (the renewer and the trial both renew)
    assert _listed(admin_client, "?trial_ending=7d") == {"Trialist"}
    assert _listed(admin_client, "?limits=at_limit") == {"Capped"}
    assert _listed(admin_client, "?override_expiring=7d") == {"Expiring"}
    assert _listed(admin_client, "?activity=silent") == {"Quiet"}


def test_saved_views__on_the_demo__each_link_lists_its_selectors_companies(admin_on_demo: Client) -> None:
    _check_saved_views(admin_on_demo)


def test_saved_views__counts__shown_for_one_page_and_for_the_selectors_only_beyond(
    admin_client: Client, world: dict[str, Any]
) -> None:
    # Given a list that fits one page, Then every view is counted (the page's boards are every company's)
    counted = {label: count for label, _, count, _ in _saved_view_links(admin_client.get(LIST).content.decode())}
    assert counted["At or over a limit"] == "1" and counted["At or over 80 % of a limit"] == "2"
    assert counted["Trials ending this week"] == "1"
    # Given more companies than a page, Then the limits views are linked without a count (reading every board would
    # make the list's cost grow with the companies), the others still counted
    now = timezone.now()
    for index in range(100):
        company_create(actor=SYSTEM_ACTOR, name=f"Filler {index:03d}", now=now)
    counted = {label: count for label, _, count, _ in _saved_view_links(admin_client.get(LIST).content.decode())}
    assert counted["At or over a limit"] is None and counted["At or over 80 % of a limit"] is None
    assert counted["Trials ending this week"] == "1"
    # except on the limits view itself, whose count is the list's
    counted = {
        label: count
        for label, _, count, _ in _saved_view_links(admin_client.get(f"{LIST}?limits=at_limit").content.decode())
    }
    assert counted["At or over a limit"] == "1"


def test_saved_views__home_page__queues_are_saved_views(admin_client: Client, world: dict[str, Any]) -> None:
    queues = backoffice_queues_get(now=timezone.now())
    views = {f"{LIST}{view.query_string}": view for view in SAVED_VIEWS}
    assert [(queue.label, queue.why) for queue in queues] == [
        (views[queue.url].label, views[queue.url].why) for queue in queues
    ]


def _companies_matching_two_filters(world: dict[str, Any], count: int, *, start: int) -> None:
    """``count`` companies each holding an override that expires in two days and silent for 21 days."""
    now = timezone.now()
    for index in range(start, start + count):
        company = company_create(actor=SYSTEM_ACTOR, name=f"Both {index:04d}", keys={"id": f"b{index}"}, now=now)
        override_grant(
            actor=SYSTEM_ACTOR,
            company=company,
            feature=world["sso"],
            value_type="boolean",
            value=True,
            note="x",
            expires_at=now + dt.timedelta(days=2),
            now=now,
        )
        event = {"type": "track", "body": {"event": "image", "company": {"id": f"b{index}"}, "quantity": 1}}
        batch_capture(events=[event], actor=SYSTEM_ACTOR, now=now - dt.timedelta(days=21))


def test_matched_because__queries__one_per_page_for_each_filter_that_reads_whatever_the_companies(
    admin_client: Client, world: dict[str, Any]
) -> None:
    both = f"{LIST}?override_expiring=7d&activity=silent"
    _companies_matching_two_filters(world, 20, start=0)
    base = _queries(admin_client, LIST)
    few = _queries(admin_client, both)
    assert len(_reasons(admin_client, "?override_expiring=7d&activity=silent")) == 20
    _companies_matching_two_filters(world, 130, start=20)  # more than a page of 100
    many = _queries(admin_client, both)
    assert len(_reasons(admin_client, "?override_expiring=7d&activity=silent")) == 100
    assert few == many
    # the unfiltered list's queries, plus the expiring overrides of the page and the last usage of the page
    assert many == base + 2, (base, many)
    # the annotated columns cost nothing more; the limits reasons read the page's boards, already read
    for query in ("?trial_ending=7d", "?renewal=30d", "?fallback_plan=yes"):
        assert _queries(admin_client, f"{LIST}{query}") == base, query
    # the limits filter reads every board (company ids, the catalog's features): the reasons add nothing to it
    assert _queries(admin_client, f"{LIST}?limits=upsell") == base + 2

"""Company list filters for account teams: who is near or at a limit, whose exception or trial ends soon, who fell
back to the free plan; what each says about a company it let through; and the saved views built from them.

"Live subscription" means the company's subscription that is not canceled (at most one per company).

Every filter here is a ``ReasonedFilter``: next to its match (``queryset``) it has ``why``, the words of the list's
"Matched because" column. Both read the same values, so they cannot tell different stories: a filter answered by a
selector (``SelectorFilter``) words the very columns that selector tests, read from the list's annotations
(``entitlements.admin.company_list.company_list_annotate``) or, where the list has no annotation, by one query for
the page with the selector's own condition; the limits filter words the same board rows it matched on.

The saved views (``SAVED_VIEWS``) are filter values with a name: the row of links above the company list and the
home page's queues both come from that one table, counted by ``saved_view_counts``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import admin
from django.db import models
from django.db.models import Max, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from entitlements.board.entitlement_board import FeatureState, company_entitlement_boards
from entitlements.models import Company, CompanyOverride, Subscription, SubscriptionStatus, UsageEvent
from entitlements.selectors import (
    SOON,
    companies_override_expiring,
    companies_renewing,
    companies_silent,
    companies_trial_ending,
    company_list,
    override_in_force_q,
)

T = TypeVar("T")

_NOW_ATTRIBUTE = "_company_list_now"


def list_now(request: HttpRequest) -> dt.datetime:
    """The instant one request of the company list is answered as of, read once per request: the filters' matches,
    the page's boards and the reasons next to the rows all agree on what "now" is."""
    now: dt.datetime | None = getattr(request, _NOW_ATTRIBUTE, None)
    if now is None:
        now = timezone.now()
        setattr(request, _NOW_ATTRIBUTE, now)
    return now


def day_text(moment: dt.datetime, *, now: dt.datetime) -> str:
    """A day as people write it, "7 Dec" ("7 Dec 2026" when not in ``now``'s year), in the admin's time zone."""
    local, today = timezone.localtime(moment), timezone.localtime(now)
    return f"{local.day} {local:%b}" if local.year == today.year else f"{local.day} {local:%b %Y}"


def days_text(days: int) -> str:
    """``3 days``, ``1 day``."""
    return f"{days} day{'' if days == 1 else 's'}"


def days_left(until: dt.datetime, *, now: dt.datetime) -> int:
    """Whole days from ``now`` to ``until``, a started day counting as one ("1 day left" up to the last second);
    0 once ``until`` has passed."""
    left = until - now
    if left <= dt.timedelta(0):
        return 0
    return -(-left // dt.timedelta(days=1))  # ceiling, in exact integer arithmetic on timedeltas


def usage_percent(state: FeatureState) -> int | None:
    """A board row's usage as a whole percentage of its limit, rounded down so that a company short of a threshold
    (80 %, 100 %) never reads as having reached it; ``None`` without a finite limit."""
    ratio = state.usage_ratio
    return None if ratio is None else int(ratio * 100)


@dataclass
class ReasonContext:
    """What the reasons of one page of the list are read from: its instant, its companies, their entitlement boards
    (already read for the usage column), and each filter's batched read of the page, made on first use."""

    now: dt.datetime
    company_ids: Sequence[int]
    boards: Mapping[int, list[FeatureState]]
    _reads: dict[str, Any] = field(default_factory=dict)

    def page_read(self, key: str, read: Callable[[Sequence[int], dt.datetime], T]) -> T:
        """``read(company_ids, now)`` for the whole page, once under ``key``: every row's reason comes from the same
        query, so the column costs one query per page, not one per row."""
        if key not in self._reads:
            self._reads[key] = read(self.company_ids, self.now)
        return cast(T, self._reads[key])


class ReasonedFilter(admin.SimpleListFilter):
    """A company list filter that says, for each company it let through, why (``why``, the "Matched because"
    column). Its choices are a class attribute (``choice_labels``), so whether a request applies it is known before
    the list is built (``is_applied_in``)."""

    parameter_name: str
    choice_labels: ClassVar[tuple[tuple[str, str], ...]] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(self.choice_labels)

    @classmethod
    def is_applied_in(cls, query: QueryDict) -> bool:
        """Whether a request with this query string applies the filter (names one of its choices; the last value
        counts, as ``value()`` reads it)."""
        return query.get(cls.parameter_name) in dict(cls.choice_labels)

    def is_applied(self) -> bool:
        """Whether this filter narrows the list (a value it does not know leaves the list as it is)."""
        return self.value() in dict(self.choice_labels)

    def why(self, company: Company, context: ReasonContext) -> str:
        """Why this company, a row of the list this filter let through, matched: in words, with its dates and
        numbers ("" if there is nothing to say). ``company`` carries the list's annotations."""
        raise NotImplementedError


class SelectorFilter(ReasonedFilter):
    """A filter of one choice answered by a selector of companies, the one the home page counts with, so a queue's
    count, the list it opens and the saved view's count agree."""

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        """The companies this filter lets through at ``now``."""
        raise NotImplementedError

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if not self.is_applied():
            return queryset
        return queryset.filter(pk__in=self.companies(now=list_now(request)).values("pk"))


class LimitsFilter(ReasonedFilter):
    """Companies by how close they are to any finite limit (numeric or trait-based allocations).

    ``upsell``: some limit is used to 80% or more (reached or exceeded included). ``at_limit``: some limit is reached
    or exceeded (the engine refuses the next use).

    Cost: usage lives in the compiled documents, not in a queryable column, so this evaluates the board of every
    company the filters before it left in the list: one catalog query, then one cache round trip per company on a
    warm cache (a cold cache compiles the documents). Fine for thousands of companies; a larger base needs a stored
    "usage share" per company, kept up to date by capture.
    """

    title = "limits"
    parameter_name = "limits"

    UPSELL = "upsell"
    AT_LIMIT = "at_limit"
    choice_labels = ((UPSELL, "≥ 80% of a limit (upsell-ready)"), (AT_LIMIT, "At or over a limit"))

    @classmethod
    def row_matches(cls, value: str | None, row: FeatureState) -> bool:
        """Whether this board row puts its company in the ``value`` choice: the one test behind the match, the
        reason and the counts."""
        if value == cls.UPSELL:
            return row.is_near_limit or row.is_at_limit
        if value == cls.AT_LIMIT:
            return row.is_at_limit
        return False

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if not self.is_applied():
            return queryset
        value = self.value()
        company_ids = list(queryset.order_by().values_list("pk", flat=True))
        boards = company_entitlement_boards(company_ids=company_ids, now=list_now(request))
        matching = [pk for pk, rows in boards.items() if any(self.row_matches(value, row) for row in rows)]
        return queryset.filter(pk__in=matching)

    def why(self, company: Company, context: ReasonContext) -> str:
        """The limits that put the company in the choice, fullest first: "AI images at 92 % of 1,000"."""
        value = self.value()
        rows = [row for row in context.boards.get(company.pk, []) if self.row_matches(value, row)]
        rows.sort(key=lambda row: row.usage_ratio or 0.0, reverse=True)
        return ", ".join(f"{row.feature.name} at {usage_percent(row)} % of {row.allocation:,}" for row in rows)


class OverrideExpiringFilter(SelectorFilter):
    """Companies holding an active override whose expiry falls in the next 7 days, ``[now, now + 7 days)``."""

    title = "override expiring"
    parameter_name = "override_expiring"
    choice_labels = (("7d", "Within 7 days"),)
    within = SOON

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        return companies_override_expiring(now=now, within=cls.within)

    @classmethod
    def expiring_by_company(cls, company_ids: Sequence[int], now: dt.datetime) -> dict[int, list[CompanyOverride]]:
        """The overrides that make each of these companies match, soonest first: ``companies_override_expiring``'s
        own condition (in force at ``now``, expiring before ``now + within``), read for these companies only."""
        overrides = (
            CompanyOverride.objects.filter(
                override_in_force_q(now), expires_at__lt=now + cls.within, company_id__in=company_ids
            )
            .select_related("feature")
            .order_by("expires_at", "pk")
        )
        by_company: dict[int, list[CompanyOverride]] = {}
        for override in overrides:
            by_company.setdefault(override.company_id, []).append(override)
        return by_company

    def why(self, company: Company, context: ReasonContext) -> str:
        """Each expiring override: "override on SSO expires 9 Dec"."""
        overrides = context.page_read(self.parameter_name, self.expiring_by_company).get(company.pk, [])
        return ", ".join(
            f"override on {override.feature.name} expires {day_text(override.expires_at, now=context.now)}"
            for override in overrides
            if override.expires_at is not None
        )


class TrialEndingFilter(SelectorFilter):
    """Companies whose live subscription is trialing with a trial end in the next 7 days, ``[now, now + 7 days)``."""

    title = "trial ending"
    parameter_name = "trial_ending"
    choice_labels = (("7d", "Within 7 days"),)
    within = SOON

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        return companies_trial_ending(now=now, within=cls.within)

    def why(self, company: Company, context: ReasonContext) -> str:
        """The trial's end, counted as the "Trial left" column counts it: "trial ends in 3 days (7 Dec)"."""
        # The selector matches a trialing subscription, which is the live one: the list's annotation of its end.
        ends: dt.datetime | None = getattr(company, "live_trial_ends_at", None)
        if ends is None:
            return ""
        left, day = days_left(ends, now=context.now), day_text(ends, now=context.now)
        return f"trial ends in {days_text(left)} ({day})" if left else f"trial ended ({day})"


class FallbackPlanFilter(SelectorFilter):
    """Companies whose live subscription is on the catalog's fallback plan (where ended subscriptions land)."""

    title = "fallback plan"
    parameter_name = "fallback_plan"
    choice_labels = (("yes", "On the fallback plan"),)

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        on_fallback = (
            Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
            .filter(plan__is_fallback=True)
            .values("company_id")
        )
        return Company.objects.filter(pk__in=on_fallback)

    def why(self, company: Company, context: ReasonContext) -> str:
        """ "on the fallback plan (Free)": the live subscription's plan, as the list's annotation names it."""
        name = getattr(company, "live_plan_name", None)
        return f"on the fallback plan ({name})" if name else "on the fallback plan"


class RenewalFilter(SelectorFilter):
    """Companies whose paid period ends in the next 30 days (``companies_renewing``)."""

    title = "renewal"
    parameter_name = "renewal"
    choice_labels = (("30d", "Within 30 days"),)
    within = dt.timedelta(days=30)

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        return companies_renewing(now=now, within=cls.within)

    def why(self, company: Company, context: ReasonContext) -> str:
        """ "renews 20 Dec": the end of the live (active) subscription's period, as the "Renews" column reads it."""
        end: dt.datetime | None = getattr(company, "live_period_end", None)
        return f"renews {day_text(end, now=context.now)}" if end else ""


class ActivityFilter(SelectorFilter):
    """Companies that used the product before and tracked nothing in the last 14 days (``companies_silent``)."""

    title = "activity"
    parameter_name = "activity"
    choice_labels = (("silent", "Silent for 14 days"),)
    days = 14

    @classmethod
    def companies(cls, *, now: dt.datetime) -> QuerySet[Company]:
        return companies_silent(now=now, days=cls.days)

    @classmethod
    def last_usage_by_company(cls, company_ids: Sequence[int], now: dt.datetime) -> dict[int, dt.datetime]:
        """When each of these companies last tracked usage: the latest of the usage events ``companies_silent``
        looks at (one grouped query for all of them)."""
        latest = (
            UsageEvent.objects.filter(company_id__in=company_ids)
            .order_by()
            .values("company_id")
            .annotate(last=Max("occurred_at"))
            .values_list("company_id", "last")
        )
        return dict(latest)

    def why(self, company: Company, context: ReasonContext) -> str:
        """ "no usage for 21 days (last 16 Nov)": whole days since the last usage event."""
        last = context.page_read(self.parameter_name, self.last_usage_by_company).get(company.pk)
        if last is None:
            return ""
        return f"no usage for {days_text((context.now - last).days)} (last {day_text(last, now=context.now)})"


@dataclass(frozen=True, slots=True)
class SavedView:
    """A question account executives ask every day, answered by one filter value of the company list: its name, the
    filter and value, and a line on why a company is in it (the home page shows it under the count)."""

    slug: str
    label: str
    filter: type[ReasonedFilter]
    value: str
    why: str

    @property
    def query_string(self) -> str:
        """The company list's query string that opens this view: ``?trial_ending=7d``."""
        return "?" + urlencode({self.filter.parameter_name: self.value})

    def is_shown_by(self, filter_params: Mapping[str, list[str]], search: str) -> bool:
        """Whether a list with these filter parameters (ordering, paging and search removed, as lists of values)
        and this search term shows exactly this view."""
        return not search and dict(filter_params) == {self.filter.parameter_name: [self.value]}


SAVED_VIEWS: tuple[SavedView, ...] = (
    SavedView(
        "trials",
        "Trials ending this week",
        TrialEndingFilter,
        "7d",
        "a trial that ends within 7 days: convert them, or extend the trial",
    ),
    SavedView(
        "upsell",
        "At or over 80 % of a limit",
        LimitsFilter,
        LimitsFilter.UPSELL,
        "usage at 80 % of a limit or more: upsell-ready (at 100 % the next use is refused)",
    ),
    SavedView(
        "at_limit",
        "At or over a limit",
        LimitsFilter,
        LimitsFilter.AT_LIMIT,
        "a limit used up: the next use is refused until the period resets or the limit is raised",
    ),
    SavedView(
        "overrides",
        "Overrides expiring in 7 days",
        OverrideExpiringFilter,
        "7d",
        "an exception that lapses within 7 days: renew it, or tell the customer",
    ),
    SavedView(
        "silent",
        "Silent for 14 days",
        ActivityFilter,
        "silent",
        "used the product before, nothing tracked in 14 days: a churn risk",
    ),
    SavedView(
        "renewals",
        "Renewals in the next 30 days",
        RenewalFilter,
        "30d",
        "a paid period that ends within 30 days",
    ),
)
"""The saved views, in the order of the row above the company list (the home page picks its queues from them)."""

LIMIT_COUNT_AT_MOST = 500
"""Counting the limits views reads every company's board: past this many companies they are linked without a count."""


def saved_view_selector_counts(*, now: dt.datetime) -> dict[str, int]:
    """The count of each saved view answered by a selector, by the view's slug: one count query each. (Folded into
    one query as ``COUNT(*) FILTER (WHERE id IN (…))``, PostgreSQL ran the renewals subquery once per company: 1.4 s
    at 10,000 companies, against 14 ms for its own count.)"""
    return {
        view.slug: view.filter.companies(now=now).count()
        for view in SAVED_VIEWS
        if issubclass(view.filter, SelectorFilter)
    }


def saved_view_board_counts(boards: Mapping[int, Sequence[FeatureState]]) -> dict[str, int]:
    """The count of each saved view answered by the entitlement boards, among these boards' companies (pass every
    company's board for the view's count)."""
    counts: dict[str, int] = {}
    for view in SAVED_VIEWS:
        if issubclass(view.filter, LimitsFilter):
            matches = LimitsFilter.row_matches
            counts[view.slug] = sum(1 for rows in boards.values() if any(matches(view.value, row) for row in rows))
    return counts


def saved_view_counts(*, now: dt.datetime) -> dict[str, int | None]:
    """Every saved view's count at ``now``, by slug: the selector views by a count each; the limits views by reading
    every company's board while there are at most ``LIMIT_COUNT_AT_MOST`` companies, else ``None`` (not counted)."""
    counts: dict[str, int | None] = dict(saved_view_selector_counts(now=now))
    company_ids = list(company_list().values_list("pk", flat=True)[: LIMIT_COUNT_AT_MOST + 1])
    if len(company_ids) <= LIMIT_COUNT_AT_MOST:
        counts.update(saved_view_board_counts(company_entitlement_boards(company_ids=company_ids, now=now)))
    else:
        counts.update({view.slug: None for view in SAVED_VIEWS if issubclass(view.filter, LimitsFilter)})
    return counts


@dataclass(frozen=True, slots=True)
class SavedViewLink:
    """A saved view as the company list shows it: its count where known (``None``: not counted on this page) and
    whether it is the view the list shows now."""

    view: SavedView
    count: int | None
    is_active: bool

"""The company list as a triage view: plan and status, trial days left, credits, the highest usage against a limit,
active overrides and the renewal date, each sortable where a column of the database stands behind it.

Everything but usage comes from one annotated query for the page (plus one for the keys and one for the credit
accounts of the page's companies). Usage lives in the compiled documents, so the highest usage is read for the page's
rows only, from the same documents checks use: one cache round trip per row when they are warm.

While a filter is applied, a "Matched because" column says per company why each applied filter let it through (the
filters' own ``why``, from the same annotations and boards, plus at most one query per filter for the page). Above
the list, the saved views (``entitlements.admin.filters.SAVED_VIEWS``) link to their filters with their counts,
counted in the one query that also counts the list's total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, DateTimeField, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import CsvExportAdmin
from credits.amounts import credits_text
from credits.models import CreditAccount
from entitlements.admin.filters import (
    SAVED_VIEWS,
    ReasonContext,
    ReasonedFilter,
    SavedViewLink,
    days_left,
    days_text,
    list_now,
    saved_view_board_counts,
    saved_view_selector_counts,
    usage_percent,
)
from entitlements.board.entitlement_board import FeatureState, company_entitlement_boards
from entitlements.models import Company, CompanyOverride, Subscription, SubscriptionStatus
from entitlements.selectors import override_in_force_q

COMPANY_LIST_COLUMNS: list[str | Callable[[Any], str | bool]] = [
    "name",
    "plan_and_status",
    "trial_left",
    "credits",
    "highest_usage",
    "overrides_active",
    "renews_on",
    "keys_summary",
]


def company_list_annotate(queryset: QuerySet[Company], *, now: dt.datetime) -> QuerySet[Company]:
    """The list's columns as annotations of one query: the live subscription's plan, status, trial end and period
    end, and the count of overrides in force at ``now``."""
    live = (
        Subscription.objects.filter(company=OuterRef("pk")).exclude(status=SubscriptionStatus.CANCELED).order_by("-pk")
    )
    in_force = (
        CompanyOverride.objects.filter(override_in_force_q(now), company=OuterRef("pk"))
        .values("company")
        .annotate(count=Count("pk"))
        .values("count")[:1]
    )
    return queryset.annotate(
        live_plan_name=Subquery(live.values("plan__name")[:1]),
        live_status=Subquery(live.values("status")[:1]),
        live_trial_ends_at=Subquery(live.values("trial_ends_at")[:1], output_field=DateTimeField()),
        live_period_end=Subquery(live.values("current_period_end")[:1], output_field=DateTimeField()),
        overrides_in_force=Coalesce(Subquery(in_force, output_field=IntegerField()), 0),
    ).prefetch_related(
        Prefetch(
            "credit_accounts",
            queryset=CreditAccount.objects.select_related("credit_type").order_by("credit_type__key"),
            to_attr="list_credit_accounts",
        )
    )


class _BoardsChangeList(ChangeList):
    """Once the page is known: the entitlement boards of its rows (``list_board``), the reasons of the applied
    filters (``list_reasons``), and the saved views with their counts (``saved_views``)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        now = list_now(request)
        rows = list(self.result_list)  # a queryset when the list fits one page: this fills its cache for the template
        company_ids = [row.pk for row in rows]
        boards = company_entitlement_boards(company_ids=company_ids, now=now)
        for row in rows:
            row.list_board = boards.get(row.pk, [])
        self._saved_views(now=now, boards=boards)
        context = ReasonContext(now=now, company_ids=company_ids, boards=boards)
        applied = [spec for spec in self.filter_specs if isinstance(spec, ReasonedFilter) and spec.is_applied()]
        for row in rows:
            row.list_reasons = [reason for spec in applied if (reason := spec.why(row, context))]

    def _saved_views(self, *, now: dt.datetime, boards: dict[int, list[FeatureState]]) -> None:
        counts: dict[str, int | None] = dict(saved_view_selector_counts(now=now))
        total = self.full_result_count if self.full_result_count is not None else self.result_count
        # The limits views need every company's board: free only when this page already holds every company (the
        # home page reads them up to LIMIT_COUNT_AT_MOST companies; the list's query count must not grow with them).
        if len(boards) == total:
            counts.update(saved_view_board_counts(boards))
        filter_params = self.get_filters_params()
        links = []
        for view in SAVED_VIEWS:
            is_active = view.is_shown_by(filter_params, self.query)
            # the view shown now: its count is the list's own
            count = self.result_count if is_active else counts.get(view.slug)
            links.append(SavedViewLink(view=view, count=count, is_active=is_active))
        self.saved_views = links


def _highest(board: list[FeatureState]) -> FeatureState | None:
    metered = [state for state in board if state.usage_ratio is not None]
    return max(metered, key=lambda state: state.usage_ratio or 0.0) if metered else None


def _csv_highest(company: Company) -> tuple[str, str]:
    state = _highest(getattr(company, "list_board", []))
    if state is None or state.usage_ratio is None:
        return "", ""
    return state.feature.key, str(usage_percent(state))


class CompanyListColumns(CsvExportAdmin):
    """The triage columns of the company list (mixed into ``CompanyAdmin``), and its CSV export with the same
    columns, search and filters."""

    change_list_template = "admin/entitlements/company/change_list.html"  # the saved views above the list
    csv_name = "companies"
    csv_columns = (
        ("company", lambda c: c.name),
        ("company id", lambda c: c.public_id),
        ("keys", lambda c: "; ".join(f"{key.name}={key.value}" for key in c.keys.all())),
        ("plan", lambda c: getattr(c, "live_plan_name", "") or ""),
        ("status", lambda c: getattr(c, "live_status", "") or ""),
        ("trial ends (UTC)", lambda c: c.live_trial_ends_at.isoformat() if c.live_trial_ends_at else ""),
        ("period ends (UTC)", lambda c: c.live_period_end.isoformat() if c.live_period_end else ""),
        (
            "credits",
            lambda c: "; ".join(f"{a.credit_type.key}={a.balance.normalize():f}" for a in c.list_credit_accounts),
        ),
        ("active overrides", lambda c: c.overrides_in_force),
        ("highest usage feature", lambda c: _csv_highest(c)[0]),
        ("highest usage %", lambda c: _csv_highest(c)[1]),
    )

    def csv_rows(self, request: HttpRequest, queryset: Any) -> Iterator[Any]:
        """The companies in chunks, each chunk's boards read together (as the list reads a page's)."""
        chunk: list[Company] = []
        for company in queryset.iterator(chunk_size=500):
            chunk.append(company)
            if len(chunk) == 500:
                yield from self._with_boards(chunk)
                chunk = []
        yield from self._with_boards(chunk)

    @staticmethod
    def _with_boards(companies: list[Company]) -> list[Company]:
        boards = company_entitlement_boards(company_ids=[company.pk for company in companies], now=timezone.now())
        for company in companies:
            company.list_board = boards.get(company.pk, [])  # type: ignore[attr-defined]
        return companies

    class Media:
        css = {"all": ("backoffice/company-list.css",)}

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _BoardsChangeList

    def get_list_display(self, request: HttpRequest) -> Any:
        """The triage columns, and "Matched because" right after the name while a filter that gives reasons is
        applied (without one, every company is listed and there is nothing to explain)."""
        columns = list(super().get_list_display(request))
        applied = any(
            isinstance(item, type) and issubclass(item, ReasonedFilter) and item.is_applied_in(request.GET)
            for item in self.get_list_filter(request)
        )
        if applied and "matched_because" not in columns:
            columns.insert(1, "matched_because")
        return columns

    @admin.display(description="Matched because")
    def matched_because(self, company: Company) -> str:
        return "; ".join(getattr(company, "list_reasons", [])) or "—"

    @admin.display(description="Plan", ordering="live_plan_name")
    def plan_and_status(self, company: Company) -> str:
        name = getattr(company, "live_plan_name", None)
        if not name:
            return "—"
        status = getattr(company, "live_status", "") or ""
        return f"{name} · {SubscriptionStatus(status).label.lower()}" if status else name

    @admin.display(description="Trial left", ordering="live_trial_ends_at")
    def trial_left(self, company: Company) -> str:
        ends = getattr(company, "live_trial_ends_at", None)
        if getattr(company, "live_status", None) != SubscriptionStatus.TRIALING or ends is None:
            return "—"
        days = days_left(ends, now=timezone.now())  # as the trial filter's reason counts them
        return days_text(days) if days else "ended"

    @admin.display(description="Credits")
    def credits(self, company: Company) -> str:
        accounts = getattr(company, "list_credit_accounts", [])
        return ", ".join(f"{account.credit_type.name}: {credits_text(account.balance)}" for account in accounts) or "—"

    @admin.display(description="Highest usage")
    def highest_usage(self, company: Company) -> SafeString | str:
        state = _highest(getattr(company, "list_board", []))
        if state is None or state.usage_ratio is None:
            return "—"
        percent = usage_percent(state) or 0
        level = "over" if state.is_at_limit else "near" if state.is_near_limit else "ok"
        return format_html(
            '<span class="usage-peak usage-{}" title="{}: {} of {}">{} {}%'
            '<span class="usage-bar"><span style="width:{}%"></span></span></span>',
            level,
            state.feature.name,
            state.usage,
            state.allocation,
            state.feature.name,
            percent,
            min(percent, 100),
        )

    @admin.display(description="Overrides", ordering="overrides_in_force")
    def overrides_active(self, company: Company) -> int:
        return int(getattr(company, "overrides_in_force", 0))

    @admin.display(description="Renews", ordering="live_period_end")
    def renews_on(self, company: Company) -> str:
        end = getattr(company, "live_period_end", None)
        return f"{end:%d %b %Y}" if end else "—"

"""The usage history of one company and metered feature: daily usage over the last 90 days as a chart with the
limit drawn, and the usage of each recent metric window as a table.

A read-only page at ``<company pk>/usage/<feature key>/`` (view permission on companies), linked from the "history"
of each event feature's row on the entitlement board. Figures are summed from the event log
(``entitlements.selectors.usage_daily_totals``, ``usage_period_totals``, ``usage_range_totals``); the limit, its
period and the source are the board's (``entitlements.board.entitlement_board``), so they say what the next check
answers. The chart is inline SVG drawn here, without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from catalog.models import Feature, FeatureType, MetricPeriod, MonthReset, ValueType
from credits.amounts import credits_text
from entitlements.admin.board import BoardRow, board_row
from entitlements.board.entitlement_board import FeatureState, company_entitlement_board
from entitlements.documents.cache import documents_get
from entitlements.models import Company
from entitlements.selectors import (
    UsageWindowTotal,
    usage_daily_totals,
    usage_period_totals,
    usage_range_totals,
)

CHART_DAYS = 90

# How many windows the table lists, newest first: a year of months (renewal talks), a quarter of weeks, a month of
# days (the chart shows the 90 days).
TABLE_WINDOWS: dict[str, int] = {
    MetricPeriod.CURRENT_DAY: 31,
    MetricPeriod.CURRENT_WEEK: 13,
    MetricPeriod.CURRENT_MONTH: 12,
    MetricPeriod.ALL_TIME: 1,
}
# How many windows cover the chart's 90 days (the first one usually starts before them): the cumulative line needs
# every one of them.
_CHART_WINDOWS: dict[str, int] = {
    MetricPeriod.CURRENT_DAY: 0,  # a daily limit compares with the bars themselves
    MetricPeriod.CURRENT_WEEK: CHART_DAYS // 7 + 2,
    MetricPeriod.CURRENT_MONTH: CHART_DAYS // 28 + 2,
    MetricPeriod.ALL_TIME: 1,
}
_PERIOD_WORDS: dict[str, str] = {
    MetricPeriod.CURRENT_DAY: "day",
    MetricPeriod.CURRENT_WEEK: "week",
    MetricPeriod.CURRENT_MONTH: "month",
    MetricPeriod.ALL_TIME: "all time",
}

# The drawing, in SVG user units (the SVG scales to the page's width).
_WIDTH, _HEIGHT = 960, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 24, 32
_PLOT_WIDTH = _WIDTH - _LEFT - _RIGHT
_PLOT_HEIGHT = _HEIGHT - _TOP - _BOTTOM
_DAY = dt.timedelta(days=1)


def _number(amount: int) -> str:
    return f"{amount:,}"


def _day_label(day: dt.date) -> str:
    """``3 Dec``."""
    return f"{day.day} {day:%b}"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


# --- The chart ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One day's bar: its box and its tooltip (``3 Dec: 1,204``)."""

    x: str
    y: str
    width: str
    height: str
    title: str


@dataclass(frozen=True, slots=True)
class ChartLine:
    """A horizontal line across the plot (the limit, the soft limit, a grid line) with its label."""

    y: str
    label: str


@dataclass(frozen=True, slots=True)
class ChartMark:
    """A label (or a window boundary) at a position along the time axis."""

    x: str
    label: str


@dataclass(frozen=True, slots=True)
class UsageChart:
    """Everything the template draws, as SVG coordinates and words."""

    width: int
    height: int
    left: int
    right: int  # the x of the plot's right edge
    bottom: str  # the y of the zero line
    bars: list[ChartBar]
    grid: list[ChartLine]
    days: list[ChartMark]
    window_starts: list[ChartMark]
    limit: ChartLine | None
    soft_limit: ChartLine | None
    cumulative: list[str]  # one polyline (its ``points``) per window: the line drops where a window starts
    cumulative_label: str  # "" without a cumulative line
    description: str  # the chart in a sentence, for screen readers


def _axis_step(top: int) -> int:
    """A round step (1, 2 or 5 × 10ⁿ) that divides ``[0, top]`` into at most four intervals."""
    rough = max(1.0, top / 4)
    power = 10 ** math.floor(math.log10(rough))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= rough)


def cumulative_in_windows(
    *,
    days: list[tuple[dt.date, int]],
    starts: list[dt.datetime],
    before: int,
    slivers: dict[dt.datetime, int],
) -> list[tuple[int, bool]]:
    """The usage of each day's window up to the end of that day, and whether a window starts that day.

    ``days`` are the chart's daily totals, oldest first; ``starts`` the window starts that fall on those days;
    ``before`` the usage of the first day's window before the first day; ``slivers`` the usage, on each start's day,
    before that start (windows anchored at a time of day split their first day). Exact at every day's end. Pure.
    """
    starts_by_day = {start.date(): start for start in starts}
    running = before
    values = []
    for day, total in days:
        start = starts_by_day.get(day)
        if start is not None:
            running = total - slivers.get(start, 0)
        else:
            running += total
        values.append((running, start is not None))
    return values


def usage_chart(
    *,
    days: list[tuple[dt.date, int]],
    period: str | None,
    state: FeatureState | None,
    cumulative: list[tuple[int, bool]] | None,
    allocation_text: str,
    period_word: str,
) -> UsageChart:
    """The chart of the daily totals (oldest first); the limit line when the board has a finite one; the cumulative
    usage within each window when given (weekly, monthly and all-time limits), its window named ``period_word``."""
    # Why this drawing: an account executive asks "did they run into the limit, and when?". A daily limit is read
    # straight off the bars against its line. A weekly or monthly limit applies to the sum since the window began, so
    # daily bars under a monthly line would always look far from it; the running total within each window, drawn
    # against the limit line, shows at a glance the day it was crossed (and the drop where a new window starts).
    # The bars stay, on the same scale, for the shape of the usage (spikes, silent days).
    allocation = state.allocation if state is not None and state.value_type != ValueType.UNLIMITED else None
    soft_limit = state.soft_limit if state is not None else None
    running = [value for value, _ in cumulative or []]
    top_value = max([0, *(total for _, total in days), *running, allocation or 0, soft_limit or 0])
    step = _axis_step(top_value)
    top = max(step, step * math.ceil(top_value / step))
    slot = _PLOT_WIDTH / max(1, len(days))
    zero = _TOP + _PLOT_HEIGHT

    def y(value: int) -> float:
        return zero - max(0, value) / top * _PLOT_HEIGHT

    def x_center(index: int) -> float:
        return _LEFT + (index + 0.5) * slot

    unit = period_word
    bars = []
    for index, (day, total) in enumerate(days):
        title = f"{_day_label(day)}: {_number(total)}"
        if cumulative is not None:
            so_far = cumulative[index][0]
            title += (
                f" ({_number(so_far)} in all)"
                if period == MetricPeriod.ALL_TIME
                else (f" ({_number(so_far)} so far this {unit})")
            )
        top_y = y(total)
        bars.append(
            ChartBar(
                x=_coordinate(_LEFT + index * slot + slot * 0.1),
                y=_coordinate(top_y),
                width=_coordinate(slot * 0.8),
                # a day at or below zero keeps a hairline, so its tooltip can still be reached
                height=_coordinate(max(1.0, zero - top_y)),
                title=title,
            )
        )
    grid = [ChartLine(y=_coordinate(y(value)), label=_number(value)) for value in range(0, top + 1, step)]
    marks: list[ChartMark] = []
    for index, (day, _) in enumerate(days):
        if index == 0 or day.day == 1:
            marks.append(ChartMark(x=_coordinate(x_center(index)), label=_day_label(day)))
    if len(marks) > 1 and days[0][0].day > 24:  # the first label would crowd the next month's
        marks.pop(0)
    segments: list[list[str]] = []
    starts: list[ChartMark] = []
    for index, (value, starts_here) in enumerate(cumulative or []):
        if starts_here or not segments:
            segments.append([])
            if starts_here and index > 0:
                starts.append(ChartMark(x=_coordinate(_LEFT + index * slot), label=_day_label(days[index][0])))
        segments[-1].append(f"{_coordinate(x_center(index))},{_coordinate(y(value))}")
    limit = None
    if allocation is not None:
        limit = ChartLine(y=_coordinate(y(allocation)), label=f"Limit {allocation_text}")
    soft = None
    if soft_limit is not None:
        soft = ChartLine(y=_coordinate(y(soft_limit)), label=f"Soft limit {_number(soft_limit)}")
    total = sum(value for _, value in days)
    description = f"Daily usage over the last {len(days)} days, {_number(total)} in all"
    if limit is not None:
        description += f"; {limit.label.lower()}"
    return UsageChart(
        width=_WIDTH,
        height=_HEIGHT,
        left=_LEFT,
        right=_LEFT + _PLOT_WIDTH,
        bottom=_coordinate(zero),
        bars=bars,
        grid=grid,
        days=marks,
        window_starts=starts,
        limit=limit,
        soft_limit=soft,
        cumulative=[" ".join(points) for points in segments],
        cumulative_label=(
            ""
            if cumulative is None
            else "Total used since the first event"
            if period == MetricPeriod.ALL_TIME
            else f"Used so far in each {unit}"
        ),
        description=description + ".",
    )


# --- The table ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """One window of the table: its span in words and its usage against today's limit."""

    span: str
    used: str
    limit: str
    percent: str  # "41%", "—" without a finite limit
    is_current: bool
    is_over: bool


def window_span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """A window in words: ``3 Dec 2024``, ``1 Nov – 30 Nov 2024`` (whole days, the last one included), or with times
    when it is anchored at a time of day (``29 Feb 10:00 – 31 Mar 10:00 UTC``, the end excluded)."""
    if start is None or end is None:
        return "All time"
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if start == _midnight(start.date()) and end == _midnight(end.date()):
        last = (end - _DAY).date()
        if last == start.date():
            return f"{start.day} {start:%b %Y}"
        first = f"{start.day} {start:%b}" if start.year == last.year else f"{start.day} {start:%b %Y}"
        return f"{first} – {last.day} {last:%b %Y}"
    return f"{start.day} {start:%b %Y %H:%M} – {end.day} {end:%b %Y %H:%M} UTC"


def period_rows(*, windows: list[UsageWindowTotal], allocation: int | None) -> list[PeriodRow]:
    """The table's rows, in the order given (newest first); the first is the current window."""
    rows = []
    for index, window in enumerate(windows):
        if allocation is not None and allocation > 0:
            ratio = window.used / allocation
            percent, is_over = f"{round(ratio * 100):,}%", ratio >= 1
        else:
            percent, is_over = "—", allocation == 0 and window.used > 0
        rows.append(
            PeriodRow(
                span=window_span(window.start, window.end),
                used=_number(window.used),
                limit="—" if allocation is None else _number(allocation),
                percent=percent,
                is_current=index == 0,
                is_over=is_over,
            )
        )
    return rows


# --- The page -------------------------------------------------------------------------------------------------------


def _document_entitlement(company: Company, feature: Feature, now: dt.datetime) -> dict[str, Any]:
    """The company document's summary of its entitlement to ``feature`` (what the engine echoes: the month reset, a
    credit feature's rate and balance, which the board's rows do not carry), from the same compiled document as the
    board (cached: the board's read just warmed it); empty when nothing grants the feature."""
    prepared = documents_get(company_id=company.pk, user_id=None, now=now).company
    summaries: list[dict[str, Any]] = prepared.document.get("entitlements", []) if prepared is not None else []
    return next((summary for summary in summaries if summary.get("feature_key") == feature.key), {})


@dataclass(frozen=True, slots=True)
class UsageHistory:
    """What the page shows of one event feature."""

    row: BoardRow | None  # the board's row of this feature (``None``: the catalog changed under the read)
    period: str  # the metric period of the table (calendar months when no limit names one)
    period_word: str  # "day", "week", "month", "all time"
    month_reset: str
    soft_limit: str  # "" without one
    limit_note: str  # what the limit line cannot say ("" when it says it all)
    is_period_from_limit: bool
    chart: UsageChart
    periods: list[PeriodRow]
    total: str  # over the chart's days


def _credits(amount: Any) -> str:
    # the document carries credits as floats; through their shortest text they read back exactly
    return credits_text(Decimal(str(amount or 0)))


def _limit_note(state: FeatureState | None, feature: Feature, entitlement: dict[str, Any]) -> str:
    """What the limit line cannot say: no limit, an unlimited one, or a limit that is a credit balance."""
    if state is None or state.value_type is None:
        return "No plan or override of this company includes this feature: no limit applies."
    if state.value_type == ValueType.UNLIMITED:
        return "Unlimited: no limit to draw."
    if state.value_type == ValueType.CREDIT:
        unit = feature.unit_singular or "use"
        rate = _credits(entitlement.get("consumption_rate"))
        left = _credits(entitlement.get("credit_remaining"))
        return (
            f"Paid with credits, {rate} per {unit}: the limit is the balance, {left} credits left now "
            "(see Credits on the company page)."
        )
    if state.allocation is None:
        return "No finite limit applies."
    return ""


def usage_history(*, company: Company, feature: Feature, now: dt.datetime, why_url: str) -> UsageHistory:
    """The usage history of an event feature for the company as of ``now``: the board's row of it, the chart of the
    last ``CHART_DAYS`` UTC days (today included) and the table of the latest windows of its metric period."""
    states = company_entitlement_board(company=company, now=now)
    state = next((state for state in states if state.feature.pk == feature.pk), None)
    row = board_row(state=state, why_url=why_url, source_urls={}) if state is not None else None
    period = state.metric_period if state is not None and state.metric_period else None
    is_period_from_limit = period is not None
    table_period = period or MetricPeriod.CURRENT_MONTH
    entitlement = _document_entitlement(company, feature, now)
    month_reset = MonthReset.FIRST_OF_MONTH
    if period == MetricPeriod.CURRENT_MONTH:
        month_reset = entitlement.get("month_reset") or MonthReset.FIRST_OF_MONTH
    today = now.astimezone(dt.UTC).date()
    since = today - dt.timedelta(days=CHART_DAYS - 1)
    days = usage_daily_totals(company=company, event_name=feature.event_name, since=since, until=today + _DAY)
    chart_windows = _CHART_WINDOWS[period] if period else 0
    windows = usage_period_totals(
        company=company,
        event_name=feature.event_name,
        period=table_period,
        month_reset=month_reset,
        now=now,
        count=max(TABLE_WINDOWS[table_period], chart_windows),
    )
    cumulative = None
    if period is not None and period != MetricPeriod.CURRENT_DAY:
        cumulative = _cumulative(company=company, feature=feature, days=days, windows=windows)
    period_word = "billing month" if month_reset == MonthReset.BILLING_CYCLE else _PERIOD_WORDS[table_period]
    chart = usage_chart(
        days=days,
        period=period,
        state=state,
        cumulative=cumulative,
        allocation_text=row.allocation if row else "",
        period_word=period_word,
    )
    allocation = state.allocation if state is not None and is_period_from_limit else None
    if state is not None and state.value_type == ValueType.UNLIMITED:
        allocation = None
    return UsageHistory(
        row=row,
        period=table_period,
        period_word=period_word,
        month_reset=month_reset,
        soft_limit=_number(state.soft_limit) if state is not None and state.soft_limit is not None else "",
        is_period_from_limit=is_period_from_limit,
        limit_note=_limit_note(state, feature, entitlement),
        chart=chart,
        periods=period_rows(windows=_without_empty_past(windows[: TABLE_WINDOWS[table_period]]), allocation=allocation),
        total=_number(sum(total for _, total in days)),
    )


def _without_empty_past(windows: list[UsageWindowTotal]) -> list[UsageWindowTotal]:
    """The windows (newest first) without the oldest ones that saw no usage, the current one always kept: a new
    customer's table does not open with a year of zeros from before it started."""
    kept = len(windows)
    while kept > 1 and windows[kept - 1].used == 0:
        kept -= 1
    return windows[:kept]


def _cumulative(
    *, company: Company, feature: Feature, days: list[tuple[dt.date, int]], windows: list[UsageWindowTotal]
) -> list[tuple[int, bool]]:
    """The running total within each window at each chart day's end (one query for what the daily totals miss: the
    first window's usage before the chart, and the part of each window's first day that precedes its start)."""
    first = _midnight(days[0][0])
    chart_end = _midnight(days[-1][0]) + _DAY
    # Windows come newest first: the first one found that began at or before the chart's first instant holds it.
    holding_first = next((window for window in windows if window.start is None or window.start <= first), None)
    starts = [window.start for window in windows if window.start is not None and first <= window.start < chart_end]
    ranges: list[tuple[dt.datetime | None, dt.datetime | None]] = []
    if holding_first is not None and (holding_first.start is None or holding_first.start < first):
        ranges.append((holding_first.start, first))
    has_before = bool(ranges)
    sliver_starts = [start for start in starts if start != _midnight(start.date())]
    ranges.extend((_midnight(start.date()), start) for start in sliver_starts)
    totals = usage_range_totals(company=company, event_name=feature.event_name, ranges=ranges)
    before = totals[0] if has_before else 0
    slivers = dict(zip(sliver_starts, totals[1 if has_before else 0 :], strict=True))
    return cumulative_in_windows(days=days, starts=starts, before=before, slivers=slivers)


def _no_usage_text(feature: Feature, state: FeatureState | None) -> str:
    if feature.feature_type == FeatureType.TRAIT:
        current = "" if state is None or state.usage is None else f" (now {_number(state.usage)})"
        return (
            f"{feature.name} is metered by the company trait “{feature.trait_key}”{current}, not by tracked events: "
            "there is no usage history to show."
        )
    return f"{feature.name} is switched on or off, not metered: there is no usage to show."


def company_usage_history_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, feature_key: str
) -> HttpResponse:
    """The usage history page of one company and feature (view permission on companies; 404 for an unknown company
    or feature). Features that are not metered by events get a page saying there is no usage to show."""
    try:
        company_pk = Company._meta.pk.to_python(unquote(object_id))
    except ValidationError as error:
        raise Http404("No such company.") from error
    company = Company.objects.filter(pk=company_pk).first()
    if company is None:
        raise Http404("No such company.")
    if not model_admin.has_view_permission(request, company):
        raise PermissionDenied
    feature = Feature.objects.filter(key__iexact=feature_key).first()
    if feature is None:
        raise Http404("No such feature.")
    now = timezone.now()
    why_url = reverse("admin:entitlements_company_why", args=[company.pk, feature.key])
    history: UsageHistory | None = None
    no_usage_text = ""
    if feature.feature_type == FeatureType.EVENT and feature.event_name:
        history = usage_history(company=company, feature=feature, now=now, why_url=why_url)
    else:
        states = company_entitlement_board(company=company, now=now)
        no_usage_text = _no_usage_text(feature, next((s for s in states if s.feature.pk == feature.pk), None))
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": f"Usage of {feature.name} by {company.name}",
        "subtitle": None,
        "opts": model_admin.model._meta,
        "company": company,
        "feature": feature,
        "history": history,
        "no_usage_text": no_usage_text,
        "chart_days": CHART_DAYS,
        "why_url": why_url,
        "now": now,
        "company_url": reverse("admin:entitlements_company_change", args=[company.pk]),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/entitlements/company/usage_history.html", context)


class CompanyUsageHistoryAdmin(admin.ModelAdmin):
    """The company admin's usage history pages at ``<pk>/usage/<feature key>/`` (view permission on companies)."""

    def get_urls(self) -> list[URLPattern]:
        history = path(
            "<path:object_id>/usage/<str:feature_key>/",
            self.admin_site.admin_view(self.usage_history_view),
            name="entitlements_company_usage_history",
        )
        return [history, *super().get_urls()]

    def usage_history_view(self, request: HttpRequest, object_id: str, feature_key: str) -> HttpResponse:
        """See ``company_usage_history_view``."""
        return company_usage_history_view(self, request, object_id, feature_key)

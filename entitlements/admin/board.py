"""The entitlement board on the company page, the "why" page behind each of its rows, and the company's history.

Read-only screens over ``entitlements.board.entitlement_board``: they show what the next SDK check would answer, from
the same compiled documents and engine, and never write.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from catalog.models import Feature, Plan
from core import audit
from entitlements.board.entitlement_board import FeatureState, company_entitlement_board, company_feature_explain
from entitlements.board.explain import when
from entitlements.models import Company, CompanyOverride

HISTORY_LENGTH = 20
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

_PER_PERIOD = {
    "current_day": "/ day",
    "current_week": "/ week",
    "current_month": "/ month",
    "all_time": "in total",
}
_PLAN_SOURCES = {"plan": "Plan", "add_on": "Add-on", "trial": "Trial"}


def _number(amount: int) -> str:
    return f"{amount:,}"


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One feature of the board, ready to print: figures as text, the meter's fill and colour, the source in words."""

    state: FeatureState
    why_url: str
    allocation: str
    usage: str
    remaining: str
    resets: str
    meter_percent: int | None  # the bar's fill, 0–100; ``None``: no finite limit, no bar
    meter_level: str  # "ok", "near" (from 80%) or "over" (at or over the limit)
    source_label: str  # "Plan", "Add-on", "Trial", "Override", "Default"
    source_text: str  # "Pro", "by Ada until 1 Dec 00:00 UTC", …
    source_url: str
    source_note: str
    soft_limit: str = ""  # "8,000", or empty without one


def _allocation_text(state: FeatureState) -> str:
    if state.value_type == "unlimited":
        return "Unlimited"
    if state.allocation is None:
        return "—"
    period = _PER_PERIOD.get(state.metric_period or "", "")
    return f"{_number(state.allocation)} {period}".rstrip()


def _override_text(source: dict[str, str]) -> str:
    who = source.get("granted_by") or source.get("name", "").removeprefix("Override by ").strip() or "someone"
    expires_text = source.get("expires_at", "")
    until = "until revoked"
    if expires_text:
        try:
            until = "until " + when(dt.datetime.fromisoformat(expires_text.replace("Z", "+00:00")))
        except ValueError:
            until = f"until {expires_text}"
    return f"by {who} {until}"


def board_row(*, state: FeatureState, why_url: str, source_urls: dict[str, str]) -> BoardRow:
    """How one feature's state reads on the board."""
    source = state.source
    kind = source.get("kind", "default")
    if kind == "override":
        label, text, note = "Override", _override_text(source), source.get("note", "")
    elif kind in _PLAN_SOURCES:
        label, text, note = _PLAN_SOURCES[kind], source.get("name", ""), ""
    else:
        label, text, note = "Default", "no plan grants it", ""
    ratio = state.usage_ratio
    return BoardRow(
        state=state,
        why_url=why_url,
        allocation=_allocation_text(state),
        usage=_number(state.usage) if state.usage is not None else "—",
        remaining=_number(state.remaining) if state.remaining is not None and ratio is not None else "—",
        resets=when(state.resets_at) if state.resets_at else "—",
        meter_percent=None if ratio is None else max(0, min(100, round(ratio * 100))),
        meter_level="over" if state.is_at_limit else "near" if state.is_near_limit else "ok",
        source_label=label,
        source_text=text,
        source_url=source_urls.get(source.get("id", ""), "") if kind != "default" else "",
        source_note=note,
        soft_limit=_number(state.soft_limit) if state.soft_limit is not None else "",
    )


def _source_urls(states: list[FeatureState]) -> dict[str, str]:
    """Change-page links of the plans and overrides the board names, by public id (a query for each kind named)."""
    urls: dict[str, str] = {}
    by_kind: dict[str, set[str]] = {}
    for state in states:
        kind = "override" if state.source.get("kind") == "override" else "plan"
        if state.source.get("id") and state.source.get("kind") != "default":
            by_kind.setdefault(kind, set()).add(state.source["id"])
    if by_kind.get("plan"):
        for plan in Plan.objects.filter(public_id__in=by_kind["plan"]).only("pk", "public_id"):
            urls[plan.public_id] = reverse("admin:catalog_plan_change", args=[plan.pk])
    if by_kind.get("override"):
        overrides = CompanyOverride.objects.filter(public_id__in=by_kind["override"]).values_list("public_id", "pk")
        for public_id, pk in overrides:
            urls[public_id] = reverse("admin:entitlements_companyoverride_change", args=[pk])
    return urls


def board_rows(*, company: Company, now: dt.datetime) -> list[BoardRow]:
    """The board of one company, every feature of the catalog, ordered by key."""
    states = company_entitlement_board(company=company, now=now)
    source_urls = _source_urls(states)
    return [
        board_row(
            state=state,
            why_url=reverse("admin:entitlements_company_why", args=[company.pk, state.feature.key]),
            source_urls=source_urls,
        )
        for state in states
    ]


@dataclass(frozen=True, slots=True)
class TraceRule:
    """One rule the engine tried, in words, with the indented details (its conditions) beneath it."""

    line: str
    details: list[str]


def explanation_outline(lines: list[str]) -> tuple[list[TraceRule], list[str]]:
    """An explanation's lines as the rules tried (each with its details) and the closing lines (the decision)."""
    rules: list[TraceRule] = []
    closing: list[str] = []
    for line in lines:
        if line.startswith(" ") and rules and not closing:
            rules[-1].details.append(line.strip())
        elif line.startswith("Decision:") or closing or line.startswith(" "):
            closing.append(line.strip())
        elif line.startswith("No rule applies"):
            closing.append(line)
        else:
            rules.append(TraceRule(line=line, details=[]))
    return rules, closing


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One audit entry, as the company page lists it."""

    created_at: dt.datetime
    actor: str
    action: str
    target: str
    changes: list[str]
    note: str


def _changes(before: Any, after: Any) -> list[str]:
    """``field: old → new`` for every field that reads differently between two audit snapshots."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    lines = []
    for name in [*new, *(name for name in old if name not in new)]:
        was, becomes = _snapshot_value(old.get(name)), _snapshot_value(new.get(name))
        if was != becomes:
            lines.append(f"{name}: {was} → {becomes}")
    return lines


def _snapshot_value(value: Any) -> str:
    """An audit snapshot value as a person reads it: ``—`` for nothing, timestamps in UTC, mappings as ``k=v``."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_snapshot_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_snapshot_value(item) for item in value)
    if isinstance(value, str) and _ISO_TIMESTAMP.match(value):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            utc = moment.astimezone(dt.UTC)
            return f"{utc.day} {utc:%b %Y %H:%M} UTC"
    return str(value)


def history_rows(*, company: Company) -> list[HistoryRow]:
    """The company's latest audit entries, newest first."""
    return [
        HistoryRow(
            created_at=entry.created_at,
            actor=f"{entry.actor_label or entry.actor_id} ({entry.actor_kind})",
            action=entry.action,
            target=entry.target_label or entry.target_id,
            changes=_changes(entry.before, entry.after),
            note=entry.note,
        )
        for entry in audit.audit_entries_for_company(company.public_id, HISTORY_LENGTH)
    ]


class EntitlementBoardAdmin(admin.ModelAdmin):
    """The company admin's read-only part: the board and the history on the change page, and the "why" page at
    ``<pk>/why/<feature key>/`` (view permission on companies required)."""

    def get_urls(self) -> list[URLPattern]:
        why = path(
            "<int:company_id>/why/<str:feature_key>/",
            self.admin_site.admin_view(self.why_view),
            name="entitlements_company_why",
        )
        return [why, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if change and obj is not None and obj.pk is not None:
            now = timezone.now()
            context["entitlement_board"] = board_rows(company=obj, now=now)
            context["entitlement_board_now"] = now
            context["company_history"] = history_rows(company=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def why_view(self, request: HttpRequest, company_id: int, feature_key: str) -> HttpResponse:
        """Why the next check for this company and feature answers as it does, in plain words."""
        company = Company.objects.filter(pk=company_id).first()
        if company is None:
            raise Http404("No such company.")
        if not self.has_view_permission(request, company):
            raise PermissionDenied
        feature = Feature.objects.filter(key__iexact=feature_key).first()
        if feature is None:
            raise Http404("No such feature.")
        now = timezone.now()
        explanation = company_feature_explain(company=company, feature=feature, now=now)
        trace_rules, trace_closing = explanation_outline(explanation.lines)
        row = board_row(state=explanation.state, why_url=request.path, source_urls=_source_urls([explanation.state]))
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"Why {feature.name} is {'on' if explanation.state.value else 'off'} for {company.name}",
            "subtitle": None,
            "opts": opts,
            "company": company,
            "feature": feature,
            "explanation": explanation,
            "trace_rules": trace_rules,
            "trace_closing": trace_closing,
            "row": row,
            "now": now,
            "company_url": reverse("admin:entitlements_company_change", args=[company.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/entitlements/company/why.html", context)

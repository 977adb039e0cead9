"""The company page as a page: a header with what an account executive looks at first (plan, status, trial, renewal,
credits, limits, exceptions) and the actions they take from it, then the board, the exceptions, the form, the credits
and the history, each a section the header links to.

The header is built from what the other parts of the page already read (the board rows, the credits section, the
live subscription), so it adds one query (the active overrides, which the overrides section lists too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from catalog.models import Plan
from entitlements.admin.board import BoardRow, board_row, board_rows
from entitlements.admin.grant_exception import moment_text, until_text
from entitlements.board.entitlement_board import company_board_preview
from entitlements.models import Company, CompanyOverride, OverrideReason, SubscriptionStatus
from entitlements.selectors import override_in_force_q, subscription_live_get


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """One active exception as the company page lists it."""

    override: CompanyOverride
    feature: str
    grants: str
    until: str
    reason: str
    change_url: str


@dataclass(frozen=True, slots=True)
class CompanyHeader:
    """The top of the company page."""

    plan: str
    add_ons: str
    status: str
    status_kind: str  # "ok", "trial", "warn": the badge's colour
    trial: str  # "ends in 3 days (7 Dec 2026 10:00 UTC)", or ""
    renews: str  # "period ends 1 Jan 2027 00:00 UTC", or ""
    at_limit: list[str]  # features at or over their limit
    near_limit: list[str]  # features from 80 % of their limit
    overrides: list[OverrideRow]
    grant_url: str


def _days_left(until: dt.datetime, now: dt.datetime) -> str:
    seconds = (until - now).total_seconds()
    if seconds <= 0:
        return "ended"
    days = int(seconds // 86400)
    return "ends today" if days == 0 else f"ends in {days} day{'s' if days != 1 else ''}"


def override_rows(*, company: Company, now: dt.datetime) -> list[OverrideRow]:
    """The company's exceptions in force at ``now`` (one past its expiry is not, marked by the job or not)."""
    rows = (
        CompanyOverride.objects.filter(override_in_force_q(now), company=company)
        .select_related("feature")
        .order_by("feature__key")
    )
    return [
        OverrideRow(
            override=row,
            feature=row.feature.name,
            grants=row.describe(),
            until=until_text(row.expires_at),
            reason=OverrideReason(row.reason).label if row.reason else "—",
            change_url=reverse("admin:entitlements_companyoverride_change", args=[row.pk]),
        )
        for row in rows
    ]


def company_header(*, company: Company, board: list[BoardRow], now: dt.datetime) -> CompanyHeader:
    """What the header says about ``company``, from its board rows as already read."""
    live = subscription_live_get(company=company)
    status_kind = "ok"
    trial = renews = ""
    if live is None:
        plan, add_ons, status = "No plan", "", "no subscription"
        status_kind = "warn"
    else:
        plan = live.plan.name
        add_ons = ", ".join(add_on.name for add_on in live.add_ons.all())
        status = live.get_status_display()
        if live.status == SubscriptionStatus.TRIALING and live.trial_ends_at:
            status_kind = "trial"
            trial = f"{_days_left(live.trial_ends_at, now)} ({moment_text(live.trial_ends_at)})"
        elif live.status != SubscriptionStatus.ACTIVE:
            status_kind = "warn"
        if live.current_period_end:
            renews = f"period ends {moment_text(live.current_period_end)}"
    return CompanyHeader(
        plan=plan,
        add_ons=add_ons,
        status=status,
        status_kind=status_kind,
        trial=trial,
        renews=renews,
        at_limit=[row.state.feature.name for row in board if row.meter_level == "over"],
        near_limit=[row.state.feature.name for row in board if row.meter_level == "near"],
        overrides=override_rows(company=company, now=now),
        grant_url=reverse("admin:entitlements_company_grant", args=[company.pk]),
    )


class CompanyPageAdmin(admin.ModelAdmin):
    """Adds the header (``company_header``) to the company change page; comes before the board and credits admins
    in the bases, so their context is there to build it from."""

    change_form_template = "admin/entitlements/company/change_form.html"

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        response = super().render_change_form(request, context, add, change, form_url, obj)
        # A TemplateResponse renders later: the board the admins after this one added is in its context by now.
        if change and obj is not None and obj.pk is not None and isinstance(response, TemplateResponse):
            self.company_page_context(request, obj, response.context_data or {})
        return response

    def company_page_context(self, request: HttpRequest, company: Company, context: dict[str, Any]) -> None:
        """Add the header to a change page's ``context`` (called once the board is in it)."""
        context["company_header"] = company_header(
            company=company, board=context.get("entitlement_board") or [], now=timezone.now()
        )
        context["may_grant"] = self.has_change_permission(request, company) and request.user.has_perm(
            "entitlements.add_companyoverride"
        )


def _grants_text(row: BoardRow) -> str:
    """What one board row grants, as the plan-change summary says it: ``off``, ``on``, ``5,000 / month``."""
    if not row.state.value:
        return "off"
    return row.allocation if row.allocation != "—" else "on"


def plan_change_effects(*, company: Company, plans: list[Plan], now: dt.datetime) -> list[str]:
    """In words, every feature whose entitlement would change if ``plans`` (the base plan, then add-ons) replaced the
    company's, with the usage that would be over a new limit: ``AI images: 5,000 / month → 1,000 / month (1,204 used:
    over the new limit)``. Built by the same preview as the board (nothing written); exceptions in force still win."""
    before = {row.state.feature.pk: row for row in board_rows(company=company, now=now)}
    effects = []
    for state in company_board_preview(company=company, now=now, plans=plans):
        after = board_row(state=state, why_url="", source_urls={})
        was = before.get(state.feature.pk)
        old, new = (_grants_text(was) if was else "off"), _grants_text(after)
        if old == new:
            continue
        line = f"{state.feature.name}: {old} → {new}"
        if after.meter_level == "over" and state.usage is not None:
            line += f" ({state.usage:,} used: over the new limit)"
        effects.append(line)
    return effects

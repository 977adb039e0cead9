"""The back-office home page's queues: what an account executive works through today, each a count and a link to the
company list filtered to it (the same filters, so the count and the list always agree)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils import timezone

from entitlements import selectors
from entitlements.board.entitlement_board import company_entitlement_boards

register = template.Library()

LIMIT_COUNT_AT_MOST = 500  # counting companies at a limit reads every board: past this many, link without a count


@dataclass(frozen=True, slots=True)
class Queue:
    """One queue of the home page: a label, how many companies are in it now (``None``: not counted), the link to
    the filtered company list, and a line on why a company is in it."""

    label: str
    count: int | None
    url: str
    why: str


def _at_limit_count(now: dt.datetime) -> int | None:
    ids = list(selectors.company_list().values_list("pk", flat=True)[: LIMIT_COUNT_AT_MOST + 1])
    if len(ids) > LIMIT_COUNT_AT_MOST:
        return None
    boards = company_entitlement_boards(company_ids=ids, now=now)
    return sum(1 for rows in boards.values() if any(row.is_near_limit or row.is_at_limit for row in rows))


def backoffice_queues_get(*, now: dt.datetime) -> list[Queue]:
    """The home page's queues as of ``now``."""
    companies = reverse("admin:entitlements_company_changelist")
    return [
        Queue(
            "Trials ending this week",
            selectors.companies_trial_ending(now=now).count(),
            f"{companies}?trial_ending=7d",
            "a trial that ends within 7 days: convert them, or extend the trial",
        ),
        Queue(
            "Overrides expiring in 7 days",
            selectors.companies_override_expiring(now=now).count(),
            f"{companies}?override_expiring=7d",
            "an exception that lapses within 7 days: renew it, or tell the customer",
        ),
        Queue(
            "At or over 80 % of a limit",
            _at_limit_count(now),
            f"{companies}?limits=upsell",
            "usage at 80 % of a limit or more: upsell-ready (at 100 % the next use is refused)",
        ),
        Queue(
            "Silent for 14 days",
            selectors.companies_silent(now=now).count(),
            f"{companies}?activity=silent",
            "used the product before, nothing tracked in 14 days: a churn risk",
        ),
        Queue(
            "Renewals in the next 30 days",
            selectors.companies_renewing(now=now).count(),
            f"{companies}?renewal=30d",
            "a paid period that ends within 30 days",
        ),
    ]


@register.simple_tag
def backoffice_queues() -> list[Queue]:
    """``{% backoffice_queues as queues %}``: the home page's queues now."""
    return backoffice_queues_get(now=timezone.now())

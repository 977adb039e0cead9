"""The back-office home page's queues: what an account executive works through today, each a count and a link to the
company list filtered to it. Each queue is a saved view of the company list (``entitlements.admin.filters``), so the
home page, the row of saved views above the list and the list's filters share one definition and one count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils import timezone

from entitlements.admin.filters import LIMIT_COUNT_AT_MOST, SAVED_VIEWS, saved_view_counts

register = template.Library()

__all__ = ["LIMIT_COUNT_AT_MOST", "Queue", "backoffice_queues_get"]

HOME_QUEUES = ("trials", "overrides", "upsell", "silent", "renewals")
"""The saved views the home page shows, in its order (by slug)."""


@dataclass(frozen=True, slots=True)
class Queue:
    """One queue of the home page: a label, how many companies are in it now (``None``: not counted), the link to
    the filtered company list, and a line on why a company is in it."""

    label: str
    count: int | None
    url: str
    why: str


def backoffice_queues_get(*, now: dt.datetime) -> list[Queue]:
    """The home page's queues as of ``now`` (their counts: ``saved_view_counts``)."""
    companies = reverse("admin:entitlements_company_changelist")
    counts = saved_view_counts(now=now)
    views = {view.slug: view for view in SAVED_VIEWS}
    return [
        Queue(view.label, counts[view.slug], f"{companies}{view.query_string}", view.why)
        for view in (views[slug] for slug in HOME_QUEUES)
    ]


@register.simple_tag
def backoffice_queues() -> list[Queue]:
    """``{% backoffice_queues as queues %}``: the home page's queues now."""
    return backoffice_queues_get(now=timezone.now())

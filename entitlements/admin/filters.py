"""Company list filters for account teams: who is near or at a limit, whose exception or trial ends soon, who fell
back to the free plan.

"Live subscription" means the company's subscription that is not canceled (at most one per company).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from entitlements.board.entitlement_board import company_entitlement_boards
from entitlements.models import Subscription, SubscriptionStatus
from entitlements.selectors import (
    companies_override_expiring,
    companies_renewing,
    companies_silent,
    companies_trial_ending,
)


class LimitsFilter(admin.SimpleListFilter):
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

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.UPSELL, "≥ 80% of a limit (upsell-ready)"), (self.AT_LIMIT, "At or over a limit")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        choice = self.value()
        if choice not in (self.UPSELL, self.AT_LIMIT):
            return queryset
        company_ids = list(queryset.order_by().values_list("pk", flat=True))
        boards = company_entitlement_boards(company_ids=company_ids, now=timezone.now())
        if choice == self.UPSELL:
            matching = [pk for pk, rows in boards.items() if any(row.is_near_limit or row.is_at_limit for row in rows)]
        else:
            matching = [pk for pk, rows in boards.items() if any(row.is_at_limit for row in rows)]
        return queryset.filter(pk__in=matching)


class OverrideExpiringFilter(admin.SimpleListFilter):
    """Companies holding an active override whose expiry falls in the next 7 days, ``[now, now + 7 days)``."""

    title = "override expiring"
    parameter_name = "override_expiring"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7d", "Within 7 days")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if self.value() != "7d":
            return queryset
        return queryset.filter(pk__in=companies_override_expiring(now=timezone.now()).values("pk"))


class TrialEndingFilter(admin.SimpleListFilter):
    """Companies whose live subscription is trialing with a trial end in the next 7 days, ``[now, now + 7 days)``."""

    title = "trial ending"
    parameter_name = "trial_ending"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7d", "Within 7 days")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if self.value() != "7d":
            return queryset
        return queryset.filter(pk__in=companies_trial_ending(now=timezone.now()).values("pk"))


class FallbackPlanFilter(admin.SimpleListFilter):
    """Companies whose live subscription is on the catalog's fallback plan (where ended subscriptions land)."""

    title = "fallback plan"
    parameter_name = "fallback_plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "On the fallback plan")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if self.value() != "yes":
            return queryset
        on_fallback = (
            Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
            .filter(plan__is_fallback=True)
            .values("company_id")
        )
        return queryset.filter(pk__in=on_fallback)


class RenewalFilter(admin.SimpleListFilter):
    """Companies whose paid period ends in the next 30 days (``companies_renewing``)."""

    title = "renewal"
    parameter_name = "renewal"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("30d", "Within 30 days")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if self.value() != "30d":
            return queryset
        return queryset.filter(pk__in=companies_renewing(now=timezone.now()).values("pk"))


class ActivityFilter(admin.SimpleListFilter):
    """Companies that used the product before and tracked nothing in the last 14 days (``companies_silent``)."""

    title = "activity"
    parameter_name = "activity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("silent", "Silent for 14 days")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        if self.value() != "silent":
            return queryset
        return queryset.filter(pk__in=companies_silent(now=timezone.now()).values("pk"))

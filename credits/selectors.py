"""Reads of companies' credits: effective balances at a moment, and the ledger.

Companies are named by their integer id: the credits app sits below the entitlements app and never imports it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Min, Q, QuerySet, Sum

from catalog.credit_models import CreditType
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry

ZERO = Decimal(0)


def credit_balances(*, company_id: int, now: dt.datetime) -> list[tuple[CreditType, Decimal]]:
    """The company's effective balance of each credit type it holds an account for, ordered by credit type key.

    Effective at ``now``: the remainders of grants already valid (``valid_from <= now``) and not yet expired
    (``expires_at`` empty or after ``now``) — whether or not the expiry job has written the expired ones off — minus
    the overdraft in use. Two queries.
    """
    accounts = list(
        CreditAccount.objects.filter(company_id=company_id).select_related("credit_type").order_by("credit_type__key")
    )
    if not accounts:
        return []
    usable = (
        CreditGrant.objects.filter(company_id=company_id, valid_from__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("credit_type_id")
        .annotate(total=Sum("remaining"))
    )
    remaining = {row["credit_type_id"]: row["total"] or ZERO for row in usable}
    return [
        (account.credit_type, remaining.get(account.credit_type_id, ZERO) - account.overdraft_used)
        for account in accounts
    ]


def credit_grant_list(*, company_id: int, credit_type: CreditType | None = None) -> QuerySet[CreditGrant]:
    """The company's grants, newest first, optionally of one credit type (expired and used-up ones included)."""
    grants = CreditGrant.objects.filter(company_id=company_id).select_related("credit_type", "company")
    if credit_type is not None:
        grants = grants.filter(credit_type=credit_type)
    return grants.order_by("-created_at", "-id")


def credit_ledger(
    *,
    company_id: int,
    credit_type: CreditType | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[CreditLedgerEntry]:
    """The company's ledger entries, newest first, optionally of one credit type and within ``[since, until)``."""
    entries = CreditLedgerEntry.objects.filter(company_id=company_id).select_related("credit_type", "grant")
    if credit_type is not None:
        entries = entries.filter(credit_type=credit_type)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries.order_by("-created_at", "-id")


def credit_next_change(*, company_id: int, now: dt.datetime) -> dt.datetime | None:
    """The next instant a balance changes by itself: a grant becoming valid or expiring after ``now``."""
    grants = CreditGrant.objects.filter(company_id=company_id, remaining__gt=0)
    starts = grants.filter(valid_from__gt=now).aggregate(first=Min("valid_from"))["first"]
    ends = grants.filter(expires_at__gt=now).aggregate(first=Min("expires_at"))["first"]
    upcoming = [moment for moment in (starts, ends) if moment is not None]
    return min(upcoming) if upcoming else None


def credit_granted_totals(*, company_id: int) -> dict[int, Decimal]:
    """Every credit the company was ever granted, per credit type id."""
    return dict(CreditAccount.objects.filter(company_id=company_id).values_list("credit_type_id", "granted_total"))

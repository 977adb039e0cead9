"""Reads of companies' credits: effective balances at a moment, and the ledger.

Companies are named by their integer id: the credits app sits below the entitlements app and never imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import DecimalField, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import CreditType
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ZERO = Decimal(0)


def credit_balances(*, company_id: int, now: dt.datetime) -> list[tuple[CreditType, Decimal]]:
    """The company's effective balance of each credit type it holds an account for, ordered by credit type key.

    Effective at ``now``: the remainders of grants already valid (``valid_from <= now``) and not yet expired
    (``expires_at`` empty or after ``now``) — whether or not the expiry job has written the expired ones off — minus
    the overdraft in use. Two queries.
    """
    return credit_balances_by_company(company_ids=[company_id], now=now).get(company_id, [])


def credit_balances_by_company(
    *, company_ids: Sequence[int], now: dt.datetime
) -> dict[int, list[tuple[CreditType, Decimal]]]:
    """``credit_balances`` of each of these companies (those without an account are absent), in two queries."""
    accounts = list(
        CreditAccount.objects.filter(company_id__in=company_ids)
        .select_related("credit_type")
        .order_by("company_id", "credit_type__key")
    )
    if not accounts:
        return {}
    usable = (
        CreditGrant.objects.filter(company_id__in=company_ids, valid_from__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("company_id", "credit_type_id")
        .annotate(total=Sum("remaining"))
    )
    remaining = {(row["company_id"], row["credit_type_id"]): row["total"] or ZERO for row in usable}
    balances: dict[int, list[tuple[CreditType, Decimal]]] = {}
    for account in accounts:
        left = remaining.get((account.company_id, account.credit_type_id), ZERO)
        balances.setdefault(account.company_id, []).append((account.credit_type, left - account.overdraft_used))
    return balances


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
    return credit_next_change_by_company(company_ids=[company_id], now=now).get(company_id)


def credit_next_change_by_company(*, company_ids: Sequence[int], now: dt.datetime) -> dict[int, dt.datetime]:
    """``credit_next_change`` of each of these companies (absent: none coming), in two queries."""
    grants = CreditGrant.objects.filter(company_id__in=company_ids, remaining__gt=0).order_by()
    upcoming: dict[int, dt.datetime] = {}
    for field, rows in (
        ("valid_from", grants.filter(valid_from__gt=now)),
        ("expires_at", grants.filter(expires_at__gt=now)),
    ):
        firsts = rows.values("company_id").annotate(first=Min(field)).values_list("company_id", "first")
        for company_id, first in firsts:
            if first is not None and (company_id not in upcoming or first < upcoming[company_id]):
                upcoming[company_id] = first
    return upcoming


def _grants_changing(since: dt.datetime, until: dt.datetime | None) -> tuple[Q, Q]:
    """(grants that expire, grants that start) after ``since`` (and at or before ``until``)."""
    expiring, starting = Q(expired_at__isnull=True, expires_at__gt=since), Q(valid_from__gt=since)
    if until is not None:
        expiring, starting = expiring & Q(expires_at__lte=until), starting & Q(valid_from__lte=until)
    return expiring, starting


def credit_grant_companies_changing(*, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The companies with a credit grant that expires or starts in ``(since, until]``."""
    expiring, starting = _grants_changing(since, until)
    return set(CreditGrant.objects.filter(expiring | starting).values_list("company_id", flat=True))


def credit_grant_next_change_any(*, after: dt.datetime) -> dt.datetime | None:
    """The first instant after ``after`` at which any company's credit grant expires or starts."""
    expiring, starting = _grants_changing(after, None)
    instants = [
        CreditGrant.objects.filter(expiring).aggregate(at=Min("expires_at"))["at"],
        CreditGrant.objects.filter(starting).aggregate(at=Min("valid_from"))["at"],
    ]
    present = [instant for instant in instants if instant is not None]
    return min(present) if present else None


def credit_granted_totals(*, company_id: int) -> dict[int, Decimal]:
    """Every credit the company was ever granted, per credit type id."""
    return credit_granted_totals_by_company(company_ids=[company_id]).get(company_id, {})


def credit_granted_totals_by_company(*, company_ids: Sequence[int]) -> dict[int, dict[int, Decimal]]:
    """``credit_granted_totals`` of each of these companies (absent: no account), in one query."""
    totals: dict[int, dict[int, Decimal]] = {}
    rows = CreditAccount.objects.filter(company_id__in=company_ids).values_list(
        "company_id", "credit_type_id", "granted_total"
    )
    for company_id, credit_type_id, granted in rows:
        totals.setdefault(company_id, {})[credit_type_id] = granted
    return totals


# --- Effective balances of every account, and low balances -------------------------------------------------------

_CREDITS: DecimalField[Any, Decimal] = DecimalField(max_digits=20, decimal_places=6)


class AccountBalances(TypedDict):
    """What ``credit_accounts_with_balances`` adds to each account."""

    usable_remaining: Decimal
    usable_granted: Decimal
    effective_balance: Decimal
    effective_balance_hundredfold: Decimal


def _usable_grant_sum(field: str, now: dt.datetime) -> Coalesce:
    """The sum of ``field`` over the account's grants usable at ``now`` (valid, not expired), as a subquery."""
    rows = (
        CreditGrant.objects.filter(
            company_id=OuterRef("company_id"), credit_type_id=OuterRef("credit_type_id"), valid_from__lte=now
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by()
        .values("company_id", "credit_type_id")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=_CREDITS), Value(ZERO), output_field=_CREDITS)


def credit_accounts_with_balances(*, now: dt.datetime) -> QuerySet[WithAnnotations[CreditAccount, AccountBalances]]:
    """Every account, annotated with its ``effective_balance`` at ``now`` (as ``credit_balances`` computes it) and
    ``usable_granted``: the quantity of the grants usable at ``now``, the base of a percent low-balance threshold."""
    return CreditAccount.objects.annotate(
        usable_remaining=_usable_grant_sum("remaining", now),
        usable_granted=_usable_grant_sum("quantity", now),
    ).annotate(
        effective_balance=ExpressionWrapper(F("usable_remaining") - F("overdraft_used"), output_field=_CREDITS),
        effective_balance_hundredfold=ExpressionWrapper(F("effective_balance") * 100, output_field=_CREDITS),
    )


def credit_accounts_low(*, now: dt.datetime) -> QuerySet[WithAnnotations[CreditAccount, AccountBalances]]:
    """The accounts whose effective balance at ``now`` is below their credit type's low-balance threshold.

    Below means under the absolute ``low_balance_threshold``, or under ``low_balance_percent`` of the credits of the
    grants usable at ``now`` (of this period's grants, not of everything ever granted, which only grows) — whichever
    is set; either when both are. ``credit_low_balance_threshold`` gives the same threshold as a number.
    """
    below_absolute = Q(credit_type__low_balance_threshold__isnull=False) & Q(
        effective_balance__lt=F("credit_type__low_balance_threshold")
    )
    below_percent = Q(credit_type__low_balance_percent__isnull=False) & Q(
        effective_balance_hundredfold__lt=ExpressionWrapper(
            F("usable_granted") * F("credit_type__low_balance_percent"), output_field=_CREDITS
        )
    )
    return credit_accounts_with_balances(now=now).filter(below_absolute | below_percent)


def credit_low_balance_threshold(*, credit_type: CreditType, usable_granted: Decimal) -> Decimal | None:
    """The balance under which an account of ``credit_type`` is low, given the credits of its usable grants; ``None``
    when the type sets no threshold. The larger of the two when both are set (``credit_accounts_low`` agrees)."""
    thresholds = []
    if credit_type.low_balance_threshold is not None:
        thresholds.append(credit_type.low_balance_threshold)
    if credit_type.low_balance_percent is not None:
        thresholds.append(usable_granted * credit_type.low_balance_percent / 100)
    return max(thresholds) if thresholds else None


def credit_account_list(*, company_id: int) -> QuerySet[CreditAccount]:
    """The company's accounts (one per credit type it holds), with their credit type, ordered by credit type key."""
    return (
        CreditAccount.objects.filter(company_id=company_id).select_related("credit_type").order_by("credit_type__key")
    )


def credit_grants_current(*, company_id: int, now: dt.datetime) -> QuerySet[CreditGrant]:
    """The company's grants with credits left that have not expired at ``now`` (including ones valid only later),
    soonest-expiring first."""
    return (
        CreditGrant.objects.filter(company_id=company_id, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("credit_type")
        .order_by(F("expires_at").asc(nulls_last=True), "valid_from", "pk")
    )


# --- One company's credits, for the pages that show them (the admin's company page, the portal) ------------------


@dataclass(frozen=True, slots=True)
class CreditTypeHolding:
    """One credit type a company holds: its effective balance, overdraft used, low-balance threshold (``None``: not
    watched) and state, and its current grants (soonest-expiring first)."""

    credit_type: CreditType
    balance: Decimal
    overdraft_used: Decimal
    threshold: Decimal | None
    is_low: bool
    grants: list[CreditGrant]


@dataclass(frozen=True, slots=True)
class CompanyCreditSummary:
    """A company's credits: one holding per credit type it has an account for, and its newest ledger entries."""

    holdings: list[CreditTypeHolding]
    ledger: list[CreditLedgerEntry]


def credit_company_summary(
    *, company_id: int, now: dt.datetime, grants_limit: int = 50, ledger_limit: int = 20
) -> CompanyCreditSummary:
    """The company's credits as of ``now``: balances, thresholds and current grants per type (at most
    ``grants_limit`` grants in all), and the newest ``ledger_limit`` ledger entries (five queries)."""
    balances = credit_balances(company_id=company_id, now=now)
    accounts = {account.credit_type_id: account for account in credit_account_list(company_id=company_id)}
    grants: dict[int, list[CreditGrant]] = {}
    for grant in credit_grants_current(company_id=company_id, now=now)[:grants_limit]:
        grants.setdefault(grant.credit_type_id, []).append(grant)
    holdings = []
    for credit_type, balance in balances:
        account = accounts[credit_type.pk]
        held = grants.get(credit_type.pk, [])
        usable_granted = sum((grant.quantity for grant in held if grant.valid_from <= now), start=Decimal(0))
        holdings.append(
            CreditTypeHolding(
                credit_type=credit_type,
                balance=balance,
                overdraft_used=account.overdraft_used,
                threshold=credit_low_balance_threshold(credit_type=credit_type, usable_granted=usable_granted),
                is_low=account.is_low,
                grants=held,
            )
        )
    return CompanyCreditSummary(holdings=holdings, ledger=list(credit_ledger(company_id=company_id)[:ledger_limit]))

"""The credit overview finance reads: per credit type, what is owed, what was burned, what is about to expire, and who
is running low — each figure one aggregate query over the grants or the ledger.

- **Outstanding** (the liability): the remainders of the grants not expired at ``now`` (``expires_at`` empty or
  after ``now``), including grants that only become valid later.
- **Burned this month**: the credits taken by ``burn`` entries created in the current calendar month (UTC); hand
  adjustments, expiries and unfunded usage are not burns.
- **Expiring soon**: the remainders of the grants whose ``expires_at`` falls in the next 30 days: after ``now`` (a
  grant expiring at ``now`` has expired, as for the balances) and before ``now + 30 days``. A part of outstanding.
- **Low accounts**: accounts whose effective balance is below their type's threshold at ``now``
  (``credits.selectors.credit_accounts_low``), with whether the alert was recorded (``is_low``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from catalog.models import CreditType
from credits.models import CreditGrant, CreditLedgerEntry, LedgerKind
from credits.selectors import credit_accounts_low, credit_low_balance_threshold

ZERO = Decimal(0)
EXPIRING_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class LowAccount:
    """One company below the low-balance threshold of one credit type."""

    account_id: int
    company_id: int
    company_name: str
    company_public_id: str
    balance: Decimal
    threshold: Decimal | None
    is_alerted: bool  # the account's ``is_low``: the crossing was recorded


@dataclass(frozen=True, slots=True)
class CreditTypeOverview:
    """The overview's figures for one credit type."""

    credit_type: CreditType
    outstanding: Decimal
    burned_this_month: Decimal
    expiring_soon: Decimal
    low_accounts: list[LowAccount]


@dataclass(frozen=True, slots=True)
class CreditOverview:
    """The overview as of ``now``: one row per credit type, ordered by key."""

    now: dt.datetime
    month_start: dt.datetime
    month_end: dt.datetime
    expiring_until: dt.datetime
    rows: list[CreditTypeOverview]


def calendar_month(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The UTC calendar month holding ``now``, as ``[start, end)``."""
    start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def credit_overview(*, now: dt.datetime) -> CreditOverview:
    """Outstanding, burned this month, expiring in 30 days and low accounts, per credit type. Four queries."""
    month_start, month_end = calendar_month(now)
    expiring_until = now + EXPIRING_WINDOW
    credit_types = list(CreditType.objects.order_by("key"))
    grant_sums = {
        row["credit_type_id"]: row
        for row in CreditGrant.objects.order_by()
        .values("credit_type_id")
        .annotate(
            outstanding=Sum("remaining", filter=Q(expires_at__isnull=True) | Q(expires_at__gt=now)),
            expiring=Sum("remaining", filter=Q(expires_at__gt=now, expires_at__lt=expiring_until)),
        )
    }
    burned = dict(
        CreditLedgerEntry.objects.filter(kind=LedgerKind.BURN, created_at__gte=month_start, created_at__lt=month_end)
        .order_by()
        .values("credit_type_id")
        .annotate(total=Sum("quantity"))
        .values_list("credit_type_id", "total")
    )
    low: dict[int, list[LowAccount]] = {}
    by_id = {credit_type.pk: credit_type for credit_type in credit_types}
    accounts = (
        credit_accounts_low(now=now)
        .order_by("credit_type_id", "effective_balance", "company__name")
        .values(
            "pk",
            "credit_type_id",
            "company_id",
            "company__name",
            "company__public_id",
            "effective_balance",
            "usable_granted",
            "is_low",
        )
    )
    for account in accounts:
        low.setdefault(account["credit_type_id"], []).append(
            LowAccount(
                account_id=account["pk"],
                company_id=account["company_id"],
                company_name=account["company__name"],
                company_public_id=account["company__public_id"],
                balance=account["effective_balance"],
                threshold=credit_low_balance_threshold(
                    credit_type=by_id[account["credit_type_id"]], usable_granted=account["usable_granted"]
                ),
                is_alerted=account["is_low"],
            )
        )
    rows = [
        CreditTypeOverview(
            credit_type=credit_type,
            outstanding=grant_sums.get(credit_type.pk, {}).get("outstanding") or ZERO,
            burned_this_month=ZERO - (burned.get(credit_type.pk) or ZERO),
            expiring_soon=grant_sums.get(credit_type.pk, {}).get("expiring") or ZERO,
            low_accounts=low.get(credit_type.pk, []),
        )
        for credit_type in credit_types
    ]
    return CreditOverview(
        now=now, month_start=month_start, month_end=month_end, expiring_until=expiring_until, rows=rows
    )

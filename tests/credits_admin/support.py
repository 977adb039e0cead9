"""What the credit admin tests read back: balances, ledger sums, audit entries, and the form posts they send."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import CreditType
from core.models import AuditEntry
from credits.models import CreditAccount, CreditLedgerEntry
from credits.selectors import credit_balances
from entitlements.models import Company


def credits_url(company: Company) -> str:
    return reverse("admin:entitlements_company_credits", args=[company.pk])


def company_url(company: Company) -> str:
    return reverse("admin:entitlements_company_change", args=[company.pk])


def post_action(client: Client, company: Company, action: str, **fields: Any) -> Any:
    """Post one of the company page's credit forms, as the browser sends it (fields carry the form's prefix)."""
    data = {"action": action, **{f"{action}-{name}": value for name, value in fields.items()}}
    return client.post(credits_url(company), data)


def balance(company: Company, credit_type: CreditType) -> Decimal:
    """The effective balance now, as the documents and the company page read it."""
    return dict(credit_balances(company_id=company.pk, now=timezone.now())).get(credit_type, Decimal(0))


def ledger_sum(company: Company, credit_type: CreditType) -> Decimal:
    total = CreditLedgerEntry.objects.filter(company=company, credit_type=credit_type).aggregate(s=Sum("quantity"))
    return total["s"] or Decimal(0)


def assert_ledger_matches_account(company: Company, credit_type: CreditType) -> None:
    """The account's running balance is the sum of its ledger, and the last entry's balance-after says so too."""
    account = CreditAccount.objects.get(company=company, credit_type=credit_type)
    last = CreditLedgerEntry.objects.filter(company=company, credit_type=credit_type).first()
    assert last is not None
    assert account.balance == ledger_sum(company, credit_type) == last.balance_after


def audit_actions(since_id: int) -> list[tuple[str, str, str]]:
    """(action, actor label, note) of the audit entries written after entry ``since_id``, oldest first."""
    return list(AuditEntry.objects.filter(pk__gt=since_id).order_by("pk").values_list("action", "actor_label", "note"))


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def split(moment: dt.datetime) -> tuple[str, str]:
    """A datetime as the admin's split date and time inputs post it."""
    return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")

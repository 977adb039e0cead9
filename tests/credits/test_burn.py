"""Burning credits: burn order, overdraft, unfunded usage — and exactness under real concurrent connections."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry
from credits.services import credit_burn, credit_grant
from entitlements.models import Company
from entitlements.services.companies import company_create

NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def _setup(overdraft: str | None = None, burn_order: str = "soonest_expiring") -> tuple[Company, CreditType]:
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=NOW)
    credit_type = CreditType.objects.create(
        key="ai", name="AI credits", burn_order=burn_order, overdraft_limit=Decimal(overdraft) if overdraft else None
    )
    return company, credit_type


def _ledger_sum(company: Company, credit_type: CreditType) -> Decimal:
    total = CreditLedgerEntry.objects.filter(company=company, credit_type=credit_type).aggregate(s=Sum("quantity"))
    return total["s"] or Decimal(0)


def _burn_concurrently(company: Company, credit_type: CreditType, *, threads: int, each: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(each):
                credit_burn(
                    actor=SYSTEM_ACTOR,
                    company_id=company.pk,
                    credit_type=credit_type,
                    quantity=Decimal(1),
                    now=timezone.now(),
                )
                # On PostgreSQL, back to the pool after each burn, as a request would: 50 threads share a pool of 10,
                # and one holding its connection through all its burns made the others wait past the pool's timeout
                # on a busy machine. (SQLite has no pool; reopening its file per burn only adds lock contention.)
                if connection.vendor == "postgresql":
                    connection.close()
        except BaseException as error:  # reported to the test thread
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_burn__1000_concurrent_burns_of_1_against_500__exactly_500_funded_never_negative() -> None:
    company, credit_type = _setup()
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(500),
        reason="purchase",
        now=timezone.now() - dt.timedelta(minutes=1),
    )

    errors = _burn_concurrently(company, credit_type, threads=50, each=20)

    assert errors == []
    burns = CreditLedgerEntry.objects.filter(kind="burn")
    assert burns.count() == 1000
    assert -sum(entry.quantity for entry in burns) == 500  # funded
    assert sum(entry.unfunded for entry in burns) == 500  # the rest was used but not funded
    assert CreditAccount.objects.get().balance == 0
    assert CreditGrant.objects.get().remaining == 0
    assert not CreditLedgerEntry.objects.filter(balance_after__lt=0).exists()  # at no point below zero
    assert _ledger_sum(company, credit_type) == CreditAccount.objects.get().balance


@pytest.mark.django_db(transaction=True)
def test_burn__concurrent_with_overdraft_allowed__stops_at_minus_the_limit() -> None:
    company, credit_type = _setup(overdraft="100")
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(500),
        reason="purchase",
        now=timezone.now() - dt.timedelta(minutes=1),
    )

    errors = _burn_concurrently(company, credit_type, threads=50, each=20)

    assert errors == []
    account = CreditAccount.objects.get()
    assert account.balance == -100 and account.overdraft_used == 100
    assert not CreditLedgerEntry.objects.filter(balance_after__lt=-100).exists()
    assert sum(entry.unfunded for entry in CreditLedgerEntry.objects.all()) == 400
    assert _ledger_sum(company, credit_type) == account.balance


@pytest.mark.django_db
def test_burn__soonest_expiring_first__then_later_ones() -> None:
    company, credit_type = _setup()
    later = credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(10),
        reason="purchase",
        now=NOW,
        expires_at=NOW + dt.timedelta(days=30),
    )
    sooner = credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(10),
        reason="promotional",
        now=NOW,
        expires_at=NOW + dt.timedelta(days=3),
    )

    outcome = credit_burn(
        actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credit_type, quantity=Decimal("12.5"), now=NOW
    )

    assert (outcome.funded, outcome.unfunded, outcome.balance_after) == (Decimal("12.5"), 0, Decimal("7.5"))
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.remaining, later.remaining) == (0, Decimal("7.5"))


@pytest.mark.django_db
def test_burn__expired_grant__not_burned_at_the_instant_of_expiry() -> None:
    company, credit_type = _setup()
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(10),
        reason="promotional",
        now=NOW,
        expires_at=NOW + dt.timedelta(days=1),
    )
    outcome = credit_burn(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(1),
        now=NOW + dt.timedelta(days=1),
    )
    assert (outcome.funded, outcome.unfunded) == (0, 1)


@pytest.mark.django_db
def test_grant__overdraft_debt__settled_from_the_new_grant() -> None:
    company, credit_type = _setup(overdraft="50")
    credit_burn(actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=credit_type, quantity=Decimal(20), now=NOW)
    assert CreditAccount.objects.get().balance == -20
    grant = credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(100),
        reason="purchase",
        now=NOW,
    )
    assert grant.remaining == 80
    account = CreditAccount.objects.get()
    assert (account.balance, account.overdraft_used) == (80, 0)
    assert _ledger_sum(company, credit_type) == account.balance


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("quantity", "reason", "expires_in_days", "field"),
    [
        (Decimal(0), "purchase", None, "quantity"),
        (Decimal(-3), "purchase", None, "quantity"),
        (Decimal(5), "gift", None, "reason"),
        (Decimal(5), "purchase", -1, "expires_at"),
    ],
)
def test_grant__bad_input__refused_naming_the_field_nothing_written(
    quantity: Decimal, reason: str, expires_in_days: int | None, field: str
) -> None:
    from core.errors import ValidationFailed

    company, credit_type = _setup()
    expires_at = NOW + dt.timedelta(days=expires_in_days) if expires_in_days is not None else None
    with pytest.raises(ValidationFailed) as refused:
        credit_grant(
            actor=SYSTEM_ACTOR,
            company_id=company.pk,
            credit_type=credit_type,
            quantity=quantity,
            reason=reason,
            now=NOW,
            expires_at=expires_at,
        )
    assert field in refused.value.fields
    assert not CreditGrant.objects.exists() and not CreditLedgerEntry.objects.exists()

"""Credit jobs with time moved: expiry at the instant, plan credits each period, rollover of a share — each once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from catalog import services as catalog
from catalog.models import CreditType, PlanCreditGrant
from core.actors import SYSTEM_ACTOR
from credits.jobs import credit_grants_expire_due
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry
from credits.selectors import credit_balances
from credits.services import credit_burn, credit_grant
from entitlements.services.companies import company_create
from entitlements.services.plan_credits import plan_credits_grant_due

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


def _ledger_total(company_id: int) -> Decimal:
    return sum((entry.quantity for entry in CreditLedgerEntry.objects.filter(company_id=company_id)), Decimal(0))


def _balance(company_id: int, now: dt.datetime) -> Decimal:
    return dict((t.key, b) for t, b in credit_balances(company_id=company_id, now=now)).get("ai", Decimal(0))


def test_expiry__grant_past_its_end__stops_counting_at_the_instant_and_job_writes_it_off_once() -> None:
    credit_type = CreditType.objects.create(key="ai", name="AI credits")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", now=START)
    expires = START + dt.timedelta(days=10)
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal(40),
        reason="promotional",
        now=START,
        expires_at=expires,
    )
    assert _balance(company.pk, expires - dt.timedelta(seconds=1)) == 40
    assert _balance(company.pk, expires) == 0  # at the instant, before any job

    first = credit_grants_expire_due(actor=SYSTEM_ACTOR, now=expires)
    second = credit_grants_expire_due(actor=SYSTEM_ACTOR, now=expires + dt.timedelta(hours=1))

    assert (first.expired, second.expired) == (1, 0)
    assert CreditAccount.objects.get().balance == 0 == _ledger_total(company.pk)
    assert CreditLedgerEntry.objects.filter(kind="expiry").count() == 1


def test_plan_credits__each_period_once__unused_half_rolls_over() -> None:
    credit_type = CreditType.objects.create(key="ai", name="AI credits")
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    PlanCreditGrant.objects.create(plan=plan, credit_type=credit_type, quantity=Decimal(100), rollover_percent=50)
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", now=START)  # lands on Pro, the initial plan

    # The first period: granted once however often the job runs
    assert plan_credits_grant_due(actor=SYSTEM_ACTOR, now=START + dt.timedelta(hours=1)) == 1
    assert plan_credits_grant_due(actor=SYSTEM_ACTOR, now=START + dt.timedelta(days=3)) == 0
    credit_burn(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=credit_type,
        quantity=Decimal("30.5"),
        now=START + dt.timedelta(days=5),
    )

    # The period ends (billing cycle: one month after the subscription started)
    period_end = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
    expired = credit_grants_expire_due(actor=SYSTEM_ACTOR, now=period_end)
    assert (expired.expired, expired.rolled_over) == (1, 1)
    assert credit_grants_expire_due(actor=SYSTEM_ACTOR, now=period_end).expired == 0
    rollover = CreditGrant.objects.get(reason="rollover")
    assert rollover.quantity == Decimal("34.75")  # exactly half of the 69.5 left
    assert plan_credits_grant_due(actor=SYSTEM_ACTOR, now=period_end) == 1  # the new period's credits
    assert plan_credits_grant_due(actor=SYSTEM_ACTOR, now=period_end) == 0

    assert _balance(company.pk, period_end) == Decimal("134.75")
    assert CreditAccount.objects.get().balance == _ledger_total(company.pk) == Decimal("134.75")
    kinds = list(CreditLedgerEntry.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["grant", "burn", "expiry", "rollover", "grant"]


@pytest.mark.django_db(transaction=True)
def test_credit_jobs__two_runs_at_once__expire_and_grant_exactly_once() -> None:
    import threading

    from django.db import connection

    credit_type = CreditType.objects.create(key="ai", name="AI credits")
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    PlanCreditGrant.objects.create(plan=plan, credit_type=credit_type, quantity=Decimal(100), rollover_percent=50)
    companies = [company_create(actor=SYSTEM_ACTOR, name=f"C{index}", now=START) for index in range(5)]
    for company in companies:
        credit_grant(
            actor=SYSTEM_ACTOR,
            company_id=company.pk,
            credit_type=credit_type,
            quantity=Decimal(10),
            reason="promotional",
            now=START,
            expires_at=START + dt.timedelta(days=1),
        )
    later = START + dt.timedelta(days=2)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(credit_grants_expire_due(actor=SYSTEM_ACTOR, now=later).expired)
            outcomes.append(plan_credits_grant_due(actor=SYSTEM_ACTOR, now=later))
        except BaseException as error:  # reported to the test thread
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(not isinstance(outcome, BaseException) for outcome in outcomes), outcomes
    assert CreditLedgerEntry.objects.filter(kind="expiry").count() == 5
    assert CreditGrant.objects.filter(reason="plan").count() == 5
    for company in companies:
        assert CreditAccount.objects.get(company=company).balance == _ledger_total(company.pk) == 100

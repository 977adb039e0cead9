"""The measuring half of ``bench.credit_burns``: runs inside a Django process on the benchmark database."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from catalog import services as catalog
from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry
from credits.services import credit_grant
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture

COMPANIES = 1000
BATCH = 100


def _setup() -> CreditType:
    credit_type = CreditType.objects.create(key="ai", name="AI credits")
    feature = catalog.feature_create(
        actor=SYSTEM_ACTOR, key="ai-query", name="AI query", feature_type="event", event_name="ai-query"
    )
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="starter", name="Starter")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR,
        plan=plan,
        feature=feature,
        value_type="credit",
        credit_type=credit_type,
        consumption_rate=Decimal("2.5"),
    )
    from entitlements.services.companies import company_create

    now = timezone.now()
    for index in range(COMPANIES):
        company = company_create(actor=SYSTEM_ACTOR, name=f"C{index}", keys={"external_id": f"c{index}"}, now=now)
        credit_grant(
            actor=SYSTEM_ACTOR,
            company_id=company.pk,
            credit_type=credit_type,
            quantity=Decimal(10**9),
            reason="purchase",
            now=now,
        )
    return credit_type


def _through_capture(companies: list[str], batches: int) -> float:
    bodies = [
        [
            {
                "type": "track",
                "body": {
                    "event": "ai-query",
                    "company": {"external_id": companies[(b * BATCH + i) % len(companies)]},
                    "quantity": 1,
                },
            }
            for i in range(BATCH)
        ]
        for b in range(batches)
    ]
    started = time.perf_counter()
    for events in bodies:
        batch_capture(events=events, actor=SYSTEM_ACTOR, now=timezone.now())
    return batches * BATCH / (time.perf_counter() - started)


def _raw_sql(company_ids: list[int], credit_type_id: int, batches: int) -> float:
    """The statements a burn makes, per batch and company, sent as plain SQL on the same connection."""
    ledger, account, grant = (model._meta.db_table for model in (CreditLedgerEntry, CreditAccount, CreditGrant))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for b in range(batches):
            by_company: dict[int, int] = {}
            for i in range(BATCH):
                company_id = company_ids[(b * BATCH + i) % len(company_ids)]
                by_company[company_id] = by_company.get(company_id, 0) + 1
            cursor.execute("BEGIN")
            for company_id, count in sorted(by_company.items()):
                cursor.execute(
                    f"SELECT id, balance FROM {account} WHERE company_id = %s AND credit_type_id = %s FOR UPDATE",
                    [company_id, credit_type_id],
                )
                account_id, balance = cursor.fetchone()
                cursor.execute(
                    f"SELECT id, remaining FROM {grant} WHERE company_id = %s AND credit_type_id = %s "
                    "AND remaining > 0 ORDER BY expires_at NULLS LAST, valid_from, id FOR UPDATE",
                    [company_id, credit_type_id],
                )
                grant_id, remaining = cursor.fetchone()
                cost = Decimal("2.5") * count
                cursor.execute(f"UPDATE {grant} SET remaining = %s WHERE id = %s", [remaining - cost, grant_id])
                rows = ", ".join(["(%s, %s, %s, 'burn', %s, 0, %s, 'system', 'bench', '', now())"] * count)
                params: list[Any] = []
                for n in range(count):
                    params += [
                        company_id,
                        credit_type_id,
                        grant_id,
                        Decimal("-2.5"),
                        balance - Decimal("2.5") * (n + 1),
                    ]
                cursor.execute(
                    f"INSERT INTO {ledger} (company_id, credit_type_id, grant_id, kind, quantity, unfunded, "
                    f"balance_after, actor_kind, actor_label, note, created_at) VALUES {rows}",
                    params,
                )
                cursor.execute(f"UPDATE {account} SET balance = %s WHERE id = %s", [balance - cost, account_id])
            cursor.execute("COMMIT")
    return batches * BATCH / (time.perf_counter() - started)


def main() -> None:
    credit_type = _setup()
    companies = list(Company.objects.order_by("pk").values_list("pk", flat=True))
    keys = [f"c{index}" for index in range(COMPANIES)]
    results = {
        "capture_hot": _through_capture(keys[:1], 50),
        "raw_hot": _raw_sql(companies[:1], credit_type.pk, 50),
        "capture_spread": _through_capture(keys, 50),
        "raw_spread": _raw_sql(companies, credit_type.pk, 50),
    }
    ledger_ok = all(
        account.balance
        == sum(
            (entry.quantity for entry in CreditLedgerEntry.objects.filter(company_id=account.company_id)), Decimal(0)
        )
        for account in CreditAccount.objects.order_by("?")[:25]
    )
    print(json.dumps({**results, "ledger_matches_balances": ledger_ok}))


if __name__ == "__main__":
    main()

"""The back-office company list with 10,000 companies: how long the first page takes to render, with the documents
cold (every row compiled) and warm (as checks keep them), next to the admin's index page rendered the same way.

Each company has a live subscription (Pro, or Free), two keys, a credit account and usage; a fifth hold an override.
Rows are inserted in bulk (the benchmark measures the list, not the services). The list is rendered in-process by
Django's test client, logged in as a superuser, and the database queries of each render are counted.

Run: ``.venv/bin/python -m bench.company_list`` (``DATABASE_URL``/``REDIS_URL`` as for the other benchmarks).
"""

from __future__ import annotations

import json

from bench.harness import bench_environment, database_kind, database_reset, django_run

COMPANIES = 10_000
RUNS = 7

_PROGRAM = r"""
import datetime as dt, json, statistics, time
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.models import CreditAccount
from entitlements.documents.cache import memo_clear
from entitlements.models import Company, CompanyKey, CompanyOverride, Subscription, UsageCounter

COMPANIES, RUNS = __COMPANIES__, __RUNS__
now = timezone.now()
calls = catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="call")
sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
free = catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free", is_initial=True)
pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
for plan, allocation in ((free, 100), (pro, 10_000)):
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=plan, feature=calls, value_type="numeric",
                               allocation=allocation, metric_period="all_time")
catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=pro, feature=sso, value_type="boolean")
ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
companies = Company.objects.bulk_create([Company(name=f"Company {i:05d}") for i in range(COMPANIES)], batch_size=2000)
companies = list(Company.objects.order_by("pk"))
CompanyKey.objects.bulk_create(
    [CompanyKey(company=c, name=n, value=f"{n}-{c.pk}") for c in companies for n in ("external_id", "stripe_id")],
    batch_size=5000,
)
Subscription.objects.bulk_create(
    [Subscription(company=c, plan=pro if c.pk % 3 else free, status="active", current_period_start=now,
                  current_period_end=now + dt.timedelta(days=30)) for c in companies], batch_size=5000,
)
CreditAccount.objects.bulk_create(
    [CreditAccount(company=c, credit_type=ai, balance=Decimal(c.pk % 900)) for c in companies], batch_size=5000,
)
UsageCounter.objects.bulk_create(
    [UsageCounter(company=c, event_name="call", period="all_time", month_reset="first_of_month",
                  window_start=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), value=c.pk % 120) for c in companies],
    batch_size=5000,
)
CompanyOverride.objects.bulk_create(
    [CompanyOverride(company=c, feature=sso, feature_type="boolean", value_type="boolean", value=True,
                     note="bench", granted_by_label="bench") for c in companies if c.pk % 5 == 0], batch_size=5000,
)
get_user_model().objects.create_superuser("bench", "bench@example.test", "pw")
client = Client()
client.force_login(get_user_model().objects.get(username="bench"))

def timed(url, *, cold, runs=RUNS):
    times, queries = [], 0
    for _ in range(runs):
        if cold:
            cache.clear(); memo_clear()
        connection.queries_log.clear()  # the log keeps 9,000 queries: a full one would make every count 0
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        times.append(elapsed * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries

client.get("/admin/entitlements/company/")  # warm up the process (templates, URL resolvers)
baseline, baseline_queries = timed("/admin/", cold=False)
cold, cold_queries = timed("/admin/entitlements/company/", cold=True)
warm, warm_queries = timed("/admin/entitlements/company/", cold=False)
client.get("/admin/entitlements/company/?limits=upsell")  # compiles and caches every company's documents once
upsell, upsell_queries = timed("/admin/entitlements/company/?limits=upsell", cold=False, runs=3)
print(json.dumps({"baseline_ms": baseline, "baseline_queries": baseline_queries, "cold_ms": cold,
                  "cold_queries": cold_queries, "warm_ms": warm, "warm_queries": warm_queries,
                  "upsell_ms": upsell, "upsell_queries": upsell_queries}))
"""


def main() -> None:
    env = bench_environment()
    print(f"company list, {COMPANIES:,} companies, {database_kind(env)}, median of {RUNS} renders", flush=True)
    database_reset(env)
    program = _PROGRAM.replace("__COMPANIES__", str(COMPANIES)).replace("__RUNS__", str(RUNS))
    result = json.loads(django_run(env, program).strip().splitlines()[-1])
    base = result["baseline_ms"]
    print(f"admin index (baseline)      {base:8.1f} ms  {result['baseline_queries']:5d} queries")
    for name, label in (
        ("cold", "list, documents cold"),
        ("warm", "list, documents warm"),
        ("upsell", "≥80% filter, warm"),
    ):
        ms, queries = result[f"{name}_ms"], result[f"{name}_queries"]
        print(f"{label:27s} {ms:8.1f} ms  {queries:5d} queries  {ms / base:6.1f}× the index")


if __name__ == "__main__":
    main()

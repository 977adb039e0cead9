"""Production topology for background work: a real ``celery -A config worker`` process, Redis as its broker, the
test database shared. A task sent after commit (an admin job) is taken by the worker and done.

Only meaningful on PostgreSQL + Redis (on the embedded defaults tasks run in-process), so skipped elsewhere;
``.ci/run`` runs it there. It would have caught kombu 5.7 refusing the redis-py the project pins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalog import services as catalog
from config.celery import app
from core.actors import SYSTEM_ACTOR
from core.admin_jobs import admin_job_start
from core.models import AdminJob, AdminJobStatus
from entitlements.admin.bulk_jobs import TRIAL_START_JOB
from entitlements.models import Subscription, SubscriptionStatus
from entitlements.services.companies import company_create
from tests.datastream.test_two_processes import _database_url

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL or connection.vendor != "postgresql",
    reason="a worker process needs the shared PostgreSQL database and Redis as the broker",
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A config worker`` on the test database, taking tasks from a broker emptied first (messages left by
    earlier tests name jobs of their rolled-back transactions)."""
    app.control.purge()
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    env["CACHE_KEY_PREFIX"] = settings.CACHE_KEY_PREFIX
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_admin_job_sent_after_commit__worker_process_runs_it(worker: subprocess.Popen[bytes]) -> None:
    # Given two companies and a trial job over them, committed (the task is sent to Redis at commit)
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro", trial_days=14)
    companies = [company_create(actor=SYSTEM_ACTOR, name=name, now=timezone.now()) for name in ("Acme", "Globex")]
    job = admin_job_start(
        kind=TRIAL_START_JOB,
        title="Start a 14-day trial of Pro",
        item_ids=[company.pk for company in companies],
        params={"plan_id": pro.pk, "note": "worker test"},
        created_by=None,
        actor=SYSTEM_ACTOR,
    )
    # When the worker takes it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in (AdminJobStatus.QUEUED, AdminJobStatus.RUNNING):
            break
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else "worker exited"
        time.sleep(0.2)
    # Then it ran there: both companies trial Pro
    assert (job.status, job.done, job.failed) == (AdminJobStatus.SUCCEEDED, 2, 0), job.errors
    for company in companies:
        live = Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).get(company=company)
        assert (live.plan_id, live.status) == (pro.pk, SubscriptionStatus.TRIALING)
    assert AdminJob.objects.count() == 1

"""Trials: start, extend or shorten, and the job that converts or ends them — once, even when two runs overlap."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.jobs.table import periodic_jobs_run
from entitlements.models import Company, Subscription, UsageCounter
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.trials import subscription_start_trial, trials_end_due


def _catalog() -> dict[str, Any]:
    actor = SYSTEM_ACTOR
    free = catalog.plan_create(actor=actor, key="free", name="Free", is_fallback=True)
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro", trial_days=14)
    return {"free": free, "pro": pro}


def _company(name: str, *, pays: bool = False) -> Company:
    company = company_create(actor=SYSTEM_ACTOR, name=name, keys={"external_id": name.lower()}, now=timezone.now())
    if pays:
        Company.objects.filter(pk=company.pk).update(has_payment_method=True)
        company.refresh_from_db()
    return company


def _live(company: Company) -> Subscription:
    return Subscription.objects.exclude(status="canceled").select_related("plan").get(company=company)


@pytest.mark.django_db
def test_trial__started_and_extended_through_api__end_moves_and_is_audited(api: APIClient) -> None:
    _catalog()
    acme = _company("Acme")
    response = api.post(f"/api/v1/companies/{acme.public_id}/trial", {"plan": "pro", "days": 7})
    assert response.status_code == 200, response.json()
    assert (response.json()["plan"], response.json()["status"]) == ("pro", "trialing")
    first_end = _live(acme).trial_ends_at
    assert first_end is not None

    later = (first_end + dt.timedelta(days=7)).isoformat()
    response = api.patch(f"/api/v1/companies/{acme.public_id}/trial", {"ends_at": later, "note": "procurement"})
    assert response.status_code == 200, response.json()
    assert _live(acme).trial_ends_at == first_end + dt.timedelta(days=7)
    assert AuditEntry.objects.filter(action="trial.extended", company_id=acme.public_id, note="procurement").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "pro"}, "days"),
        ({"plan": "pro", "days": 0}, "days"),
        ({"plan": "pro", "ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
        ({"plan": "nope", "days": 3}, "plan"),
        ({"plan": "pro", "days": 3, "ends_at": "2030-01-01T00:00:00Z"}, "days"),
    ],
)
def test_trial__bad_input__400_naming_the_field(api: APIClient, body: dict[str, Any], field: str) -> None:
    _catalog()
    acme = _company("Acme")
    response = api.post(f"/api/v1/companies/{acme.public_id}/trial", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert _live(acme).status == "active"


@pytest.mark.django_db
def test_trial_job__past_end__converts_payer_moves_other_to_fallback_once() -> None:
    plans = _catalog()
    now = timezone.now()
    payer, other = _company("Payer", pays=True), _company("Other")
    for company in (payer, other):
        subscription_start_trial(actor=SYSTEM_ACTOR, company=company, plan=plans["pro"], days=3, now=now)
    event = {"type": "track", "body": {"event": "doc", "company": {"external_id": "other"}, "quantity": 4}}
    batch_capture(events=[event], actor=SYSTEM_ACTOR, now=now)

    later = now + dt.timedelta(days=3, seconds=1)
    first, second = periodic_jobs_run(now=later), periodic_jobs_run(now=later)
    assert (first["trials_converted"], first["trials_moved_to_fallback"]) == (1, 1)
    assert (second["trials_converted"], second["trials_moved_to_fallback"]) == (0, 0)

    assert (_live(payer).plan.key, _live(payer).status) == ("pro", "active")
    assert (_live(other).plan.key, _live(other).status) == ("free", "active")
    assert UsageCounter.objects.get(company=other, period="all_time").value == 4  # usage survives the plan change
    assert AuditEntry.objects.filter(action="trial.converted").count() == 1
    assert AuditEntry.objects.filter(action="trial.ended").count() == 1


@pytest.mark.django_db(transaction=True)
def test_trial_job__two_runs_at_once__each_trial_ends_once() -> None:
    plans = _catalog()
    now = timezone.now()
    companies = [_company(f"C{index}", pays=index % 2 == 0) for index in range(6)]
    for company in companies:
        subscription_start_trial(actor=SYSTEM_ACTOR, company=company, plan=plans["pro"], days=1, now=now)
    later = now + dt.timedelta(days=1, seconds=1)
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(trials_end_due(actor=SYSTEM_ACTOR, now=later))
        except BaseException as error:  # reported to the test thread
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(not isinstance(result, BaseException) for result in results), results
    assert sum(r.converted for r in results) == 3 and sum(r.moved_to_fallback for r in results) == 3
    assert AuditEntry.objects.filter(action__in=["trial.converted", "trial.ended"]).count() == 6
    assert Subscription.objects.exclude(status="canceled").count() == 6


@pytest.mark.django_db
def test_subscription_put__plan_change__one_audit_entry_before_after(api: APIClient) -> None:
    _catalog()
    acme = _company("Acme")
    response = api.put(f"/api/v1/companies/{acme.public_id}/subscription", {"plan": "pro"})
    assert response.status_code == 200, response.json()
    entry = AuditEntry.objects.get(action="subscription.updated")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["plan"], entry.after["plan"], entry.actor_kind) == ("free", "pro", "api_key")

"""Concurrent batches: the same idempotency keys sent at once still count once, and no update is lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from core.actors import SYSTEM_ACTOR
from entitlements.models import UsageCounter, UsageEvent
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create


def _track(key: str | None, quantity: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "body": {"event": "generation", "company": {"external_id": "acme"}, "quantity": quantity},
    }
    if key is not None:
        event["idempotency_key"] = key
    return event


def _in_threads(batches: list[list[dict[str, Any]]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(batches))

    def run(events: list[dict[str, Any]]) -> None:
        try:
            barrier.wait()
            batch_capture(events=events, actor=SYSTEM_ACTOR, now=timezone.now())
        except BaseException as error:  # reported to the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(events,)) for events in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_capture__same_keys_from_concurrent_batches__each_counted_once() -> None:
    company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    batch = [_track(f"order-{index}", 2) for index in range(50)]

    errors = _in_threads([batch, batch, batch, batch])

    assert errors == []
    assert UsageEvent.objects.count() == 50
    assert UsageCounter.objects.get(period="current_month", month_reset="first_of_month").value == 100


@pytest.mark.django_db(transaction=True)
def test_capture__concurrent_batches_without_keys__no_update_lost() -> None:
    company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())

    errors = _in_threads([[_track(None, 1)] * 25 for _ in range(4)])

    assert errors == []
    assert UsageCounter.objects.get(period="current_month", month_reset="first_of_month").value == 100
    assert UsageCounter.objects.get(period="all_time").value == 100

"""``POST /batch`` (PROTOCOL.md §2.6): per-event validation, idempotency, counters, analytics, bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.actors import SYSTEM_ACTOR
from entitlements.models import Company, CompanyKey, FlagCheckRecord, UsageCounter, UsageEvent, User
from entitlements.services.api_keys import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(client: Client) -> Any:
    secret = api_key_create(actor=SYSTEM_ACTOR, name="capture").secret

    def send(body: Any, *, raw: str | None = None) -> Any:
        payload = raw if raw is not None else json.dumps(body)
        return client.post("/batch", payload, content_type="application/json", headers={"X-Schematic-Api-Key": secret})

    return send


def identify(external_id: str, **company: Any) -> dict[str, Any]:
    return {
        "api_key": "ignored", "type": "identify",
        "body": {"keys": {"email": f"a@{external_id}.test"}, "name": "Ann", "traits": {"role": "admin"},
                 "company": {"keys": {"external_id": external_id}, "name": external_id.title(), **company}},
    }  # fmt: skip


def track(external_id: str, quantity: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"event": "generation", "company": {"external_id": external_id}, "quantity": quantity, "traits": None,
            "user": None}  # fmt: skip
    return {"api_key": "ignored", "type": "track", "body": body, **extra}


def month_counter() -> int:
    return UsageCounter.objects.get(period="current_month", month_reset="first_of_month").value


def test_batch__identify_then_track__company_user_event_and_counters(post: Any) -> None:
    response = post({"events": [identify("acme", traits={"seats": 4}), track("acme", 3), track("acme")]})

    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    company = Company.objects.get(keys__value="acme")
    assert company.name == "Acme"
    user = User.objects.get(keys__value="a@acme.test")
    assert list(user.companies.all()) == [company]
    assert UsageEvent.objects.count() == 2
    # one counter per window kept: day, week, month (both resets), all time
    assert {c.period + "/" + c.month_reset: c.value for c in UsageCounter.objects.all()} == {
        "current_day/first_of_month": 4, "current_week/first_of_month": 4, "current_month/first_of_month": 4,
        "current_month/billing_cycle": 4, "all_time/first_of_month": 4,
    }  # fmt: skip


def test_batch__identify_again__keys_and_traits_added_not_duplicated(post: Any) -> None:
    post({"events": [identify("acme")]})
    again = identify("acme", traits={"seats": 9})
    again["body"]["company"]["keys"]["stripe_customer_id"] = "cus_1"
    post({"events": [again]})
    assert Company.objects.count() == 1
    assert set(CompanyKey.objects.values_list("name", flat=True)) == {"external_id", "stripe_customer_id"}


def test_batch__same_idempotency_key_in_two_batches__counted_once(post: Any) -> None:
    post({"events": [identify("acme")]})
    first = post({"events": [track("acme", 5, idempotency_key="k1")]})
    second = post({"events": [track("acme", 5, idempotency_key="k1"), track("acme", 1, idempotency_key="k1")]})

    assert first.json()["accepted"] == 1
    assert second.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert UsageEvent.objects.count() == 1
    assert month_counter() == 5


def test_batch__negative_quantity__lowers_counter_never_below_zero(post: Any) -> None:
    post({"events": [identify("acme"), track("acme", 3)]})
    post({"events": [track("acme", -2)]})
    assert month_counter() == 1
    post({"events": [track("acme", -10)]})
    assert month_counter() == 0
    assert UsageEvent.objects.filter(quantity__lt=0).count() == 2


def test_batch__trusted_client_clock__event_dated_by_client_within_bounds(post: Any) -> None:
    post({"events": [identify("acme")]})
    sent_at = (timezone.now() - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post({"events": [track("acme", 1, sent_at=sent_at, trusted_client_clock=True)]})
    untrusted = post({"events": [track("acme", 1, sent_at=sent_at)]})
    too_old = post({"events": [track("acme", 1, sent_at="2020-01-01T00:00:00Z", trusted_client_clock=True)]})

    dates = sorted(UsageEvent.objects.values_list("occurred_at", flat=True))
    assert dates[0].strftime("%Y-%m-%dT%H:%M:%SZ") == sent_at
    assert timezone.now() - dates[1] < dt.timedelta(minutes=1)
    assert untrusted.status_code == 200
    assert too_old.status_code == 400
    assert "sent_at" in too_old.json()["rejected"][0]["error"]


def test_batch__mixed_valid_and_invalid__valid_stored_invalid_listed(post: Any) -> None:
    post({"events": [identify("acme")]})
    response = post({
        "events": [
            track("acme", 2),
            track("nobody", 1),
            {"type": "track", "body": {"event": "generation", "company": {"external_id": 7}}},
            {"type": "inference", "body": {}},
            track("acme", "many"),
        ]
    })  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["type"]) for r in body["rejected"]] == [
        (1, "track"), (2, "track"), (3, "inference"), (4, "track")
    ]  # fmt: skip
    assert "no company has these keys" in body["rejected"][0]["error"]
    assert "body.company.external_id" in body["rejected"][1]["error"]
    assert UsageEvent.objects.count() == 1


def test_batch__flag_checks__last_check_and_count_per_company_and_flag(post: Any) -> None:
    def check(value: bool, sent_at: str) -> dict[str, Any]:
        return {"type": "flag_check", "sent_at": sent_at, "trusted_client_clock": True,
                "body": {"flag_key": "sso", "value": value, "reason": "r", "company_id": "comp_1", "flag_id": "f",
                         "user_id": None, "rule_id": None, "req_company": {"id": "x"}, "req_user": None}}  # fmt: skip

    now = timezone.now()
    earlier = (now - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post({"events": [check(True, later), check(False, earlier)]})
    post({"events": [check(False, earlier)]})

    record = FlagCheckRecord.objects.get()
    assert (record.flag_key, record.company_public_id, record.check_count, record.last_value) == (
        "sso", "comp_1", 3, True
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        ("not json", None),
        (None, [1, 2]),
        (None, {"events": "nope"}),
        (None, {"events": [{"type": "track", "body": {"event": "x", "company": {"id": 1}}}]}),
        (None, {"events": [{"type": "identify", "body": {"keys": {"email": ["a"]}}}]}),
        (None, {"events": [{"type": "track", "body": "x"}]}),
    ],
)
def test_batch__bad_input__400_json_and_nothing_stored(post: Any, raw: str | None, body: Any) -> None:
    response = post(body, raw=raw)
    assert response.status_code == 400
    assert "error" in response.json()
    assert not UsageEvent.objects.exists() and not Company.objects.exists()


def test_batch__101_events__400_batch_too_large(post: Any) -> None:
    response = post({"events": [track("acme", 1)] * 101})
    assert response.status_code == 400
    assert response.json() == {"error": "batch too large", "max_size": 100}


def test_batch__no_api_key__401(client: Client) -> None:
    response = client.post("/batch", "{}", content_type="application/json")
    assert response.status_code == 401
    assert "error" in response.json()

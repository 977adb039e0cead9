"""Management API: a company's credits — grants, refunds, balances and ledger (``/api/v1/companies/{id}/credit-…``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry
from credits.services import credit_burn, credit_grant
from entitlements.models import Company
from tests.api.support import company_make, ok, refused, send_json
from tests.credits_api.support import company_path, credit_type_make

MISSING = object()  # a field left out of the request


@pytest.fixture
def acme(api: APIClient) -> dict[str, Any]:
    """A company, and the credit types ``ai`` (no overdraft) and ``gpu`` (overdraft of 5)."""
    credit_type_make(api, "ai")
    credit_type_make(api, "gpu", overdraft_limit=5)
    return company_make(api, "Acme")


def _pk(company: dict[str, Any]) -> int:
    return Company.objects.get(public_id=company["id"]).pk


def _burn(company: dict[str, Any], key: str, quantity: str) -> None:
    credit_burn(
        actor=SYSTEM_ACTOR,
        company_id=_pk(company),
        credit_type=CreditType.objects.get(key=key),
        quantity=Decimal(quantity),
        now=timezone.now(),
    )


def _balances(api: APIClient, company: dict[str, Any]) -> dict[str, str]:
    body = ok(api.get(company_path(company, "credit-balances")))
    assert body["company"] == company["id"]
    return {row["credit_type"]: row["balance"] for row in body["results"]}


def _nothing_written() -> bool:
    return not (CreditGrant.objects.exists() or CreditLedgerEntry.objects.exists() or CreditAccount.objects.exists())


def test_company_credits__grant_burn_refund__balances_and_ledger_follow(api: APIClient, acme: dict[str, Any]) -> None:
    # Given nothing granted yet, Then the company holds no balance
    assert _balances(api, acme) == {}

    # When 100 AI credits are granted, expiring in a month
    expires_at = (timezone.now() + dt.timedelta(days=30)).isoformat()
    grant = ok(
        api.post(
            company_path(acme, "credit-grants"),
            {"credit_type": "ai", "quantity": 100, "expires_at": expires_at, "note": "welcome"},
        ),
        201,
    )

    # Then the grant is answered with exact decimal strings and the default reason
    assert grant["id"].startswith("cgr_")
    assert (grant["company"], grant["credit_type"], grant["reason"]) == (acme["id"], "ai", "manual")
    assert (grant["quantity"], grant["remaining"]) == ("100", "100")
    assert dt.datetime.fromisoformat(grant["expires_at"]) == dt.datetime.fromisoformat(expires_at)
    assert _balances(api, acme) == {"ai": "100"}

    # When usage burns 30.25 of them, Then the balance shows what is left
    _burn(acme, "ai", "30.25")
    assert _balances(api, acme) == {"ai": "69.75"}

    # When 10.5 are refunded, Then it is a grant with the reason "refund" and the balance grows
    refund = ok(
        api.post(company_path(acme, "credit-refunds"), {"credit_type": "ai", "quantity": "10.5", "note": "outage"}),
        201,
    )
    assert (refund["reason"], refund["quantity"], refund["expires_at"]) == ("refund", "10.5", None)
    assert _balances(api, acme) == {"ai": "80.25"}

    # Then the ledger lists every change, newest first, with the balance after each
    ledger = ok(api.get(company_path(acme, "credit-ledger")))
    rows = [(row["kind"], row["quantity"], row["balance_after"], row["reason"]) for row in ledger["results"]]
    assert rows == [
        ("refund", "10.5", "80.25", "refund"),
        ("burn", "-30.25", "69.75", "manual"),
        ("grant", "100", "100", "manual"),
    ]
    assert [row["note"] for row in ledger["results"]] == ["outage", "", "welcome"]
    assert ledger["results"][0]["actor_kind"] == "api_key"
    assert ledger["results"][2]["grant"] == grant["id"]

    # And the grants list shows both grants, newest first, with what remains of each
    grants = ok(api.get(company_path(acme, "credit-grants")))["results"]
    assert [(row["id"], row["remaining"]) for row in grants] == [(refund["id"], "10.5"), (grant["id"], "69.75")]


def test_credit_ledger__filtered_by_type_and_half_open_window(api: APIClient, acme: dict[str, Any]) -> None:
    # Given grants of two credit types and a burn
    ok(api.post(company_path(acme, "credit-grants"), {"credit_type": "ai", "quantity": 5}), 201)
    ok(api.post(company_path(acme, "credit-grants"), {"credit_type": "gpu", "quantity": 7}), 201)
    _burn(acme, "ai", "1")
    everything = ok(api.get(company_path(acme, "credit-ledger")))["results"]
    assert len(everything) == 3

    # When filtered by credit type (key or id), Then only its entries show
    gpu_id = ok(api.get("/api/v1/credit-types/gpu"))["id"]
    for name in ("gpu", gpu_id):
        only_gpu = ok(api.get(company_path(acme, "credit-ledger"), {"credit_type": name}))["results"]
        assert [(row["credit_type"], row["quantity"]) for row in only_gpu] == [("gpu", "7")]

    # When windowed at an entry's time, Then `since` includes it and `until` excludes it
    middle = everything[1]["created_at"]
    since = ok(api.get(company_path(acme, "credit-ledger"), {"since": middle}))["results"]
    until = ok(api.get(company_path(acme, "credit-ledger"), {"until": middle}))["results"]
    assert since == [row for row in everything if row["created_at"] >= middle]
    assert until == [row for row in everything if row["created_at"] < middle]
    assert len(since) + len(until) == 3


def test_credit_ledger__paginated(api: APIClient, acme: dict[str, Any]) -> None:
    for _ in range(3):
        ok(api.post(company_path(acme, "credit-grants"), {"credit_type": "ai", "quantity": 1}), 201)

    first = ok(api.get(company_path(acme, "credit-ledger"), {"page_size": 2}))

    assert (first["count"], len(first["results"])) == (3, 2)
    assert len(ok(api.get(first["next"]))["results"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"credit_type": "nope"}, "credit_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ],
)
def test_credit_ledger__bad_filter__400_naming_it(
    api: APIClient, acme: dict[str, Any], query: dict[str, str], field: str
) -> None:
    refused(api.get(company_path(acme, "credit-ledger"), query), 400, field)


def test_credit_balances__expired_future_and_overdraft__effective_now(api: APIClient, acme: dict[str, Any]) -> None:
    # Given: AI credits granted a year ago that expired, 4 valid now, 50 that only become valid next week
    now = timezone.now()
    ai = CreditType.objects.get(key="ai")
    company_id = _pk(acme)
    past = now - dt.timedelta(days=365)
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=company_id, credit_type=ai, quantity=Decimal(9), reason="manual", now=past,
        expires_at=past + dt.timedelta(days=30),
    )  # fmt: skip
    ok(api.post(company_path(acme, "credit-grants"), {"credit_type": "ai", "quantity": 4}), 201)
    next_week = (now + dt.timedelta(days=7)).isoformat()
    ok(
        api.post(company_path(acme, "credit-grants"), {"credit_type": "ai", "quantity": 50, "valid_from": next_week}),
        201,
    )
    # And GPU credits overdrawn by 3 (the type allows 5)
    _burn(acme, "gpu", "3")

    # Then only what is usable now counts, and the overdraft shows as a negative balance
    assert _balances(api, acme) == {"ai": "4", "gpu": "-3"}

    # When GPU credits are granted, Then they pay the overdraft first
    paid = ok(api.post(company_path(acme, "credit-grants"), {"credit_type": "gpu", "quantity": 10}), 201)
    assert (paid["quantity"], paid["remaining"]) == ("10", "7")
    assert _balances(api, acme) == {"ai": "4", "gpu": "7"}


def test_credit_grant__type_with_default_expiry__expires_by_default(api: APIClient) -> None:
    credit_type_make(api, "trial", default_expiry_days=14)
    company = company_make(api)

    grant = ok(api.post(company_path(company, "credit-grants"), {"credit_type": "trial", "quantity": 1}), 201)

    valid_from = dt.datetime.fromisoformat(grant["valid_from"])
    assert dt.datetime.fromisoformat(grant["expires_at"]) - valid_from == dt.timedelta(days=14)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": "0.000"}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "-0.5"}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": ""}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": [1]}, "quantity"),
        ({"quantity": "1.0000001"}, "quantity"),
        ({"quantity": "1e20"}, "quantity"),
        ({"quantity": MISSING}, "quantity"),
        ({"credit_type": "nope"}, "credit_type"),
        ({"credit_type": MISSING}, "credit_type"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"valid_from": "2031-01-01T00:00:00Z", "expires_at": "2030-01-01T00:00:00Z"}, "expires_at"),
        ({"valid_from": "2020-01-01T00:00:00Z", "expires_at": "2020-02-01T00:00:00Z"}, "expires_at"),
        ({"reason": "plan"}, "reason"),
        ({"reason": "refund"}, "reason"),
        ({"note": 5}, "note"),
        ({"amount": 5}, "amount"),
    ],
)
def test_credit_grant__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, acme: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = {"credit_type": "ai", "quantity": 10, **fields}
    body = {name: value for name, value in body.items() if value is not MISSING}

    refused(send_json(api, "POST", company_path(acme, "credit-grants"), body), 400, field)

    assert _nothing_written()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": False}, "quantity"),
        ({"credit_type": "nope"}, "credit_type"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"note": MISSING}, "note"),
        ({"note": ""}, "note"),
        ({"reason": "manual"}, "reason"),
    ],
)
def test_credit_refund__bad_input__400_naming_the_field_nothing_written(
    api: APIClient, acme: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = {"credit_type": "ai", "quantity": 10, "note": "outage", **fields}
    body = {name: value for name, value in body.items() if value is not MISSING}

    refused(send_json(api, "POST", company_path(acme, "credit-refunds"), body), 400, field)

    assert _nothing_written()


@pytest.mark.parametrize("tail", ["credit-grants", "credit-refunds", "credit-balances", "credit-ledger"])
def test_company_credits__unknown_company__404_nothing_written(api: APIClient, acme: dict[str, Any], tail: str) -> None:
    path = company_path({"id": "comp_nope"}, tail)
    body = {"credit_type": "ai", "quantity": 1, "note": "x"}

    refused(api.post(path, body) if tail in ("credit-grants", "credit-refunds") else api.get(path), 404)

    assert _nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("tail", ["credit-grants", "credit-refunds", "credit-balances", "credit-ledger"])
def test_company_credits__without_key__401(anonymous_api: APIClient, tail: str) -> None:
    assert anonymous_api.get(company_path({"id": "comp_x"}, tail)).status_code == 401

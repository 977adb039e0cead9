"""The SDK check routes at the Django level: envelopes, bad input, freshness after commit, no query when warm."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put


@pytest.fixture
def post(client: Client, db: None) -> Any:
    secret = api_key_create(actor=SYSTEM_ACTOR, name="checks").secret

    def send(path: str, body: Any = None, *, raw: str | None = None, key: str | None = secret) -> Any:
        payload = raw if raw is not None else json.dumps(body)
        headers = {"X-Schematic-Api-Key": key} if key else {}
        return client.post(path, payload, content_type="application/json", headers=headers)

    return send


@pytest.fixture
def plans(db: None) -> dict[str, Any]:
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    free = catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=pro, feature=sso, value_type="boolean")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    return {"free": free, "pro": pro, "company": company}


def test_check__envelope__data_and_params_as_the_sdk_requires(post: Any, plans: dict[str, Any]) -> None:
    response = post("/flags/SSO/check", {"company": {"External_ID": "ACME"}, "user": None})
    assert response.status_code == 200
    body = response.json()
    assert body["params"] == {}
    assert {"flag", "value", "reason", "flag_id", "company_id", "rule_id", "rule_type", "entitlement"} <= set(
        body["data"]
    )
    assert (body["data"]["flag"], body["data"]["value"]) == ("sso", False)
    assert body["data"]["company_id"] == plans["company"].public_id


def test_check_all__envelope__flags_credit_policies_and_plan(post: Any, plans: dict[str, Any]) -> None:
    body = post("/flags/check", {"company": {"external_id": "acme"}}).json()
    assert [flag["flag"] for flag in body["data"]["flags"]] == ["sso"]
    assert body["data"]["credit_spend_policies"] == []
    assert body["data"]["plan"]["name"] == "Free"


def test_check__plan_changed_after_a_warm_check__next_check_sees_it(post: Any, plans: dict[str, Any]) -> None:
    # Given a check answered (and its documents cached in this process and the shared cache)
    assert post("/flags/sso/check", {"company": {"external_id": "acme"}}).json()["data"]["value"] is False
    # When the company moves to Pro
    subscription_put(actor=SYSTEM_ACTOR, company=plans["company"], plan=plans["pro"], now=timezone.now())
    # Then the very next check answers from the new plan
    data = post("/flags/sso/check", {"company": {"external_id": "acme"}}).json()["data"]
    assert (data["value"], data["rule_type"]) == (True, "plan_entitlement")


def test_check__warm_cache__no_database_query(post: Any, plans: dict[str, Any], django_assert_num_queries: Any) -> None:
    body = {"company": {"external_id": "acme"}}
    post("/flags/sso/check", body)  # warms the caches
    with django_assert_num_queries(0):
        assert post("/flags/sso/check", body).status_code == 200
        assert post("/flags/check", body).status_code == 200


def test_check__unknown_flag__404_flag_not_found(post: Any, plans: dict[str, Any]) -> None:
    response = post("/flags/nope/check", {"company": {"external_id": "acme"}})
    assert response.status_code == 404
    assert response.json() == {"error": "flag not found"}


@pytest.mark.parametrize(
    ("raw", "body", "field"),
    [
        ("{not json", None, None),
        (None, [1, 2], "body"),
        (None, {"company": "acme"}, "company"),
        (None, {"company": {"external_id": 7}}, "company.external_id"),
        (None, {"user": {"email": None}}, "user.email"),
        (None, {"company": {"external_id": "acme"}, "preflight": "lots"}, "preflight"),
        (None, {"company": {"external_id": "acme"}, "preflight": {"usage": "3"}}, "preflight"),
    ],
)
def test_check__bad_input__400_naming_the_problem(
    post: Any, plans: dict[str, Any], raw: str | None, body: Any, field: str | None
) -> None:
    for path in ("/flags/sso/check", "/flags/check"):
        response = post(path, body, raw=raw)
        assert response.status_code == 400, (path, response.content)
        answer = response.json()
        assert "error" in answer
        if field is not None:
            assert field in answer["fields"]


def test_check__no_or_wrong_key__401_json(post: Any, plans: dict[str, Any]) -> None:
    for key in (None, "sk_wrong"):
        response = post("/flags/sso/check", {"company": {"external_id": "acme"}}, key=key)
        assert response.status_code == 401
        assert "error" in response.json()


def test_check__get__405_json(client: Client, plans: dict[str, Any]) -> None:
    response = client.get("/flags/sso/check")
    assert response.status_code == 405
    assert "error" in response.json()

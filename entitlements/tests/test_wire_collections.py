"""Documents leave with every collection the SDKs require (``collections_filled``): a ``null`` list would make the
Node SDK drop the whole document."""

from __future__ import annotations

from typing import Any

from entitlements.documents.wire import COMPANY_SHAPE, FLAG_SHAPE, USER_SHAPE, collections_filled


def _condition(**fields: Any) -> dict[str, Any]:
    return {"id": "cond_1", "condition_type": "metric", "resource_ids": [], **fields}


def _rule(**fields: Any) -> dict[str, Any]:
    return {"id": "rule_1", "conditions": [_condition()], "condition_groups": [], **fields}


def test_collections_filled__nothing_missing__the_same_object() -> None:
    flag = {"id": "flag_1", "key": "sso", "rules": [_rule()]}

    assert collections_filled(flag, FLAG_SHAPE) is flag


def test_collections_filled__null_lists_down_the_rules__empty_lists_and_the_original_untouched() -> None:
    flag: dict[str, Any] = {
        "id": "flag_1",
        "rules": [
            _rule(),
            _rule(conditions=[_condition(resource_ids=None)], condition_groups=[{"conditions": None}]),
            _rule(conditions=None, condition_groups=None),
        ],
    }

    filled = collections_filled(flag, FLAG_SHAPE)

    assert filled["rules"][0] is flag["rules"][0]  # copied only where something was missing
    assert filled["rules"][1]["conditions"][0]["resource_ids"] == []
    assert filled["rules"][1]["condition_groups"] == [{"conditions": []}]
    assert (filled["rules"][2]["conditions"], filled["rules"][2]["condition_groups"]) == ([], [])
    assert flag["rules"][1]["conditions"][0]["resource_ids"] is None
    assert flag["rules"][2]["conditions"] is None


def test_collections_filled__company_with_nulls_and_absences__required_present_optional_absent_stays_absent() -> None:
    company = {"id": "comp_1", "keys": None, "plan_version_ids": None, "entitlements": None, "rules": [_rule()]}

    filled = collections_filled(company, COMPANY_SHAPE)

    assert filled == {
        "id": "comp_1",
        "keys": {},
        "credit_balances": {},
        "plan_ids": [],
        "plan_version_ids": [],
        "billing_product_ids": [],
        "metrics": [],
        "traits": [],
        "rules": company["rules"],
        "entitlements": [],
    }
    assert "credit_spend_policies" not in filled
    # optional scalars and objects may be null: the SDKs accept them
    assert collections_filled({**filled, "credit_postpaid": None}, COMPANY_SHAPE)["credit_postpaid"] is None


def test_collections_filled__user_with_null_spend_policies__empty_list() -> None:
    user: dict[str, Any] = {
        "id": "user_1",
        "keys": {"email": "a@b.c"},
        "traits": None,
        "rules": [],
        "credit_spend_policies": None,
    }

    assert collections_filled(user, USER_SHAPE) == {**user, "traits": [], "credit_spend_policies": []}

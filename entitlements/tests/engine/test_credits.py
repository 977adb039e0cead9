"""Credit conditions, postpaid overdraft and spend policies (PROTOCOL.md §5.2.5-7); VERIFIED on Schematic's engine."""

from __future__ import annotations

from typing import Any

import pytest

from entitlements.tests.engine.builders import check, company, credit_condition, flag, rule, user
from entitlements.tests.engine.builders import matches as standard_rule_matches


def _grants(balance: float | None, operator: str = "lt", rate: float | None = 2.5, **context: Any) -> bool:
    balances = {} if balance is None else {"cred_ai": balance}
    fields = context.pop("company_fields", {})
    return standard_rule_matches(
        credit_condition(operator, rate), company=company(credit_balances=balances, **fields), **context
    )


def _policy(kind: str, limit: float, scope: str = "company", **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", "pol_1"),
        "credit_id": "cred_ai",
        "kind": kind,
        "limit": limit,
        "scope": scope,
        **fields,
    }


@pytest.mark.parametrize(
    ("balance", "expected"), [(None, False), (-1, False), (0, False), (2.4, False), (2.5, True), (10, True)]
)
def test_credit_condition__balance_against_one_unit__sufficient_from_rate(
    balance: float | None, expected: bool
) -> None:
    assert _grants(balance) is expected


@pytest.mark.parametrize("operator", ["eq", "ne", "lt", "lte", "is_empty", "not_empty", "unknown"])
def test_credit_condition__non_inverting_operator__true_when_sufficient(operator: str) -> None:
    assert _grants(10, operator)
    assert not _grants(2.4, operator)


@pytest.mark.parametrize("operator", ["gt", "gte"])
def test_credit_condition__gt_or_gte__true_when_insufficient(operator: str) -> None:
    assert not _grants(10, operator)
    assert _grants(2.4, operator)
    assert _grants(None, operator)


def test_credit_condition__no_rate__one_credit_per_unit() -> None:
    assert _grants(1, rate=None)
    assert not _grants(0.5, rate=None)


def test_credit_condition__rate_zero__needs_a_positive_balance() -> None:
    assert not _grants(0, rate=0)
    assert _grants(0.01, rate=0)
    assert not _grants(0, rate=0, options={"usage": 3})


def test_credit_condition__preflight_credit_cost_zero__passes_at_zero_balance() -> None:
    assert _grants(0, rate=0, options={"credit_cost": {"cred_ai": 0}})
    assert _grants(0, options={"credit_cost": {"cred_ai": 0}})


def test_credit_condition__no_company_or_no_credit_id__false_for_every_operator() -> None:
    assert not standard_rule_matches(credit_condition("lt"), company=None, user_document=user())
    assert not standard_rule_matches(credit_condition("gt"), company=None, user_document=user())
    document = credit_condition("gt")
    document["credit_id"] = None
    assert not standard_rule_matches(document, company=company(credit_balances={"cred_ai": 1}))


@pytest.mark.parametrize(
    ("options", "balance", "expected"),
    [
        ({"usage": 4}, 10, True),
        ({"usage": 5}, 10, False),
        ({"event_usage": {"event_subtype": "ai-query", "quantity": 5}}, 10, False),
        ({"event_usage": {"event_subtype": "other", "quantity": 5}}, 10, True),
        ({"credit_cost": {"cred_ai": 11}}, 10, False),
        ({"event_usage": {"event_subtype": "ai-query", "quantity": 2}, "usage": 3}, 5, True),
        ({"event_usage": {"event_subtype": "ai-query", "quantity": 100}, "credit_cost": {"cred_ai": 1}}, 5, True),
        ({"credit_cost": {"cred_other": 1}, "usage": 3}, 5, False),
    ],
)
def test_credit_condition__preflight__credit_cost_then_event_usage_then_usage(
    options: dict[str, Any], balance: float, expected: bool
) -> None:
    assert _grants(balance, options=options) is expected


@pytest.mark.parametrize(
    ("balance", "expected"), [(0, True), (-50, True), (-97.5, True), (-97.6, False), (-200, False)]
)
def test_credit_condition__postpaid_overdraft__balance_may_go_down_to_minus_limit(
    balance: float, expected: bool
) -> None:
    postpaid = {"credit_postpaid": {"cred_ai": {"overdraft_limit": 100}}}

    assert _grants(balance, company_fields=postpaid) is expected


@pytest.mark.parametrize("config", [{}, {"overdraft_limit": None}])
def test_credit_condition__postpaid_without_limit__no_floor(config: dict[str, Any]) -> None:
    assert _grants(-1e6, company_fields={"credit_postpaid": {"cred_ai": config}})


def test_credit_condition__postpaid_other_credit__no_effect() -> None:
    assert not _grants(0, company_fields={"credit_postpaid": {"cred_other": {}}})


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_policy("per_draw", 1), False),
        (_policy("per_draw", 2.5), True),
        (_policy("window", 10, consumed=9, window={"count": 1, "unit": "day"}), False),
        (_policy("window", 10, consumed=7.5, window={"count": 1, "unit": "day"}), True),
        (_policy("cap", 0), True),
        (_policy("per_draw", 1, scope="user"), True),
    ],
)
def test_credit_condition__company_spend_policy__caps_the_draw(policy: dict[str, Any], expected: bool) -> None:
    assert _grants(100, company_fields={"credit_spend_policies": [policy]}) is expected


def test_credit_condition__user_spend_policy__only_user_or_group_scope_for_this_company() -> None:
    def grants(policy: dict[str, Any]) -> bool:
        return _grants(100, user_document=user(credit_spend_policies=[policy]))

    assert not grants(_policy("per_draw", 1, scope="user"))
    assert not grants(_policy("per_draw", 1, scope="group"))
    assert grants(_policy("per_draw", 1, scope="company"))
    assert grants(_policy("per_draw", 1, scope="user", company_id="comp_9"))


def _refusal(policies: list[dict[str, Any]], *rules: dict[str, Any], default: bool = False, **context: Any) -> Any:
    document = flag(*(rules or (rule("r", "plan_entitlement", True, [credit_condition()]),)), default=default)
    return check(document, company(credit_balances={"cred_ai": 100}, credit_spend_policies=policies), **context)


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (_policy("per_draw", 1), "A draw of 2.5 credits exceeds the company limit of 1 credit per request"),
        (_policy("per_draw", 2), "A draw of 2.5 credits exceeds the company limit of 2 credits per request"),
        (
            _policy("window", 10, consumed=9, window={"count": 1, "unit": "day"}),
            "A draw of 2.5 credits exceeds the company limit of 10 credits per day",
        ),
        (
            _policy("window", 10, consumed=9, window={"count": 2, "unit": "week"}),
            "A draw of 2.5 credits exceeds the company limit of 10 credits per 2 weeks",
        ),
        (_policy("window", 10, consumed=9), "A draw of 2.5 credits exceeds the company limit of 10 credits per period"),
        (
            _policy("per_draw", 1, scope="group"),
            "A draw of 2.5 credits exceeds the group limit of 1 credit per request",
        ),
        (_policy("per_draw", 1, scope="team"), "A draw of 2.5 credits exceeds the spend limit of 1 credit per request"),
    ],
)
def test_spend_policy_refusal__default_false__reason_names_the_limit(policy: dict[str, Any], reason: str) -> None:
    result = _refusal([policy])

    assert (result.value, result.reason, result.rule_id) == (False, reason, None)
    assert result.credit_spend_policy is not None and result.credit_spend_policy.cost == 2.5


def test_spend_policy_refusal__wire__policy_echoed_with_float_amounts() -> None:
    policy = _policy("window", 10, consumed=9, window={"count": 1, "unit": "day"}, label="Daily", company_id="comp_1")

    wire = _refusal([policy]).to_wire()

    assert wire["credit_spend_policy"] == {
        "cost": 2.5,
        "policy": {
            "id": "pol_1",
            "credit_id": "cred_ai",
            "kind": "window",
            "scope": "company",
            "company_id": "comp_1",
            "label": "Daily",
            "limit": 10.0,
            "consumed": 9.0,
            "window": {"unit": "day", "count": 1},
        },
    }


def test_spend_policy_refusal__default_true__plain_default() -> None:
    result = _refusal([_policy("per_draw", 1)], default=True)

    assert (result.value, result.reason, result.credit_spend_policy) == (
        True,
        "No rules matched; default value for flag",
        None,
    )


def test_spend_policy_refusal__usage_exceeded_rule_wins__plain_reason_unless_the_refusal_was_its_own() -> None:
    entitlement = rule("r", "plan_entitlement", True, [credit_condition()])
    plain = _refusal([_policy("per_draw", 1)], entitlement, rule("x", "plan_entitlement_usage_exceeded", False))
    own = _refusal(
        [_policy("per_draw", 1)], rule("x", "plan_entitlement_usage_exceeded", False, [credit_condition("gte")])
    )

    assert (plain.reason, plain.credit_spend_policy) == (
        'Matched plan entitlement usage exceeded rule "plan_entitlement_usage_exceeded" (x)',
        None,
    )
    assert (own.rule_id, own.reason) == ("x", "A draw of 2.5 credits exceeds the company limit of 1 credit per request")


def test_spend_policy_refusal__standard_false_rule_wins__plain_reason() -> None:
    result = _refusal(
        [_policy("per_draw", 1)], rule("r", "plan_entitlement", True, [credit_condition()]), rule("s", value=False)
    )

    assert (result.rule_id, result.credit_spend_policy) == ("s", None)


def test_spend_policy_refusal__default_rule_false__refusal_reported_with_the_rule() -> None:
    result = _refusal(
        [_policy("per_draw", 1)], rule("r", "plan_entitlement", True, [credit_condition()]), rule("d", "default", False)
    )

    assert (result.rule_id, result.reason) == (
        "d",
        "A draw of 2.5 credits exceeds the company limit of 1 credit per request",
    )


def test_spend_policy_refusal__several__first_met_is_reported() -> None:
    policies = [_policy("per_draw", 2, id="pol_a"), _policy("per_draw", 1, id="pol_b")]

    result = _refusal(
        policies, user_document=user(credit_spend_policies=[_policy("per_draw", 0.5, scope="user", id="pol_u")])
    )

    assert result.credit_spend_policy is not None and result.credit_spend_policy.policy.id == "pol_a"


def test_spend_policy_refusal__user_policy__user_limit_wording() -> None:
    result = check(
        flag(rule("r", "plan_entitlement", True, [credit_condition()])),
        company(credit_balances={"cred_ai": 100}),
        user(credit_spend_policies=[_policy("per_draw", 1, scope="user")]),
    )

    assert result.reason == "A draw of 2.5 credits exceeds the user limit of 1 credit per request"

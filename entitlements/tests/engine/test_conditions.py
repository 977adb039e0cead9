"""Id-set and metric conditions (PROTOCOL.md §5.2.1-3); expectations VERIFIED on Schematic's engine."""

from __future__ import annotations

import pytest

from entitlements.tests.engine.builders import (
    check,
    company,
    condition,
    flag,
    metric,
    metric_condition,
    rule,
    trait,
    user,
)
from entitlements.tests.engine.builders import (
    definition as trait_definition,
)
from entitlements.tests.engine.builders import (
    matches as standard_rule_matches,
)


@pytest.mark.parametrize(
    ("operator", "listed", "expected"),
    [
        ("eq", ["comp_1"], True),
        ("eq", ["comp_2"], False),
        ("ne", ["comp_1"], False),
        ("ne", [], True),
        ("gt", ["comp_1"], True),
        ("is_empty", ["comp_1"], True),
        ("unknown", ["comp_1"], True),
    ],
)
def test_company_condition__operator__anything_but_ne_means_listed(
    operator: str, listed: list[str], expected: bool
) -> None:
    assert standard_rule_matches(condition("company", operator, resource_ids=listed)) is expected


def test_company_condition__no_company__false_even_for_ne() -> None:
    assert not standard_rule_matches(
        condition("company", "ne", resource_ids=["comp_9"]), company=None, user_document=user()
    )


def test_user_condition__no_user__false() -> None:
    assert not standard_rule_matches(condition("user", "eq", resource_ids=["user_1"]))
    assert standard_rule_matches(condition("user", "eq", resource_ids=["user_1"]), user_document=user())


@pytest.mark.parametrize(
    ("condition_type", "held_field"),
    [("plan", "plan_ids"), ("plan_version", "plan_version_ids"), ("billing_product", "billing_product_ids")],
)
def test_set_condition__intersection__ne_inverts(condition_type: str, held_field: str) -> None:
    held = company(**{held_field: ["x_1", "x_2"]})

    assert standard_rule_matches(condition(condition_type, "eq", resource_ids=["x_2", "x_9"]), company=held)
    assert not standard_rule_matches(condition(condition_type, "eq", resource_ids=["x_9"]), company=held)
    assert not standard_rule_matches(condition(condition_type, "ne", resource_ids=["x_1"]), company=held)
    assert standard_rule_matches(condition(condition_type, "ne", resource_ids=[]), company=held)


@pytest.mark.parametrize(
    ("operator", "base_plan_id", "listed", "expected"),
    [
        ("eq", "plan_P", ["plan_P"], True),
        ("eq", None, ["plan_P"], False),
        ("ne", None, ["plan_P"], True),
        ("ne", "plan_P", ["plan_P"], False),
        ("is_empty", None, [], True),
        ("is_empty", "plan_P", [], False),
        ("not_empty", "plan_P", [], True),
        ("gt", "plan_P", ["plan_P"], False),
        ("unknown", "plan_P", ["plan_P"], False),
    ],
)
def test_base_plan_condition__operator__only_eq_ne_and_emptiness(
    operator: str, base_plan_id: str | None, listed: list[str], expected: bool
) -> None:
    document = condition("base_plan", operator, resource_ids=listed)

    assert standard_rule_matches(document, company=company(base_plan_id=base_plan_id)) is expected


def test_unknown_condition_type__any_operator__never_matches() -> None:
    assert not standard_rule_matches(condition("foo", "ne", resource_ids=["x"]))


def test_rule__no_conditions_no_groups__matches() -> None:
    assert check(flag(rule("r")), None).rule_id == "r"


def test_rule__empty_condition_group__never_matches() -> None:
    assert check(flag(rule("r", groups=[[]])), company()).rule_id is None


@pytest.mark.parametrize(
    ("operator", "usage", "expected"),
    [
        ("lt", 99, True),
        ("lt", 100, False),
        ("lte", 100, True),
        ("lte", 101, False),
        ("eq", 100, True),
        ("ne", 100, False),
        ("gt", 100, False),
        ("gte", 100, True),
        ("unknown", 0, False),
    ],
)
def test_metric_condition__operator__compares_usage_to_limit(operator: str, usage: int, expected: bool) -> None:
    assert standard_rule_matches(metric_condition(operator, 100), company=company(metrics=[metric(usage)])) is expected


@pytest.mark.parametrize(("usage", "is_empty", "not_empty"), [(0, True, False), (5, False, True), (-1, False, False)])
def test_metric_condition__emptiness__zero_is_empty_positive_is_not(
    usage: int, is_empty: bool, not_empty: bool
) -> None:
    rows = company(metrics=[metric(usage)])

    assert standard_rule_matches(metric_condition("is_empty", 100), company=rows) is is_empty
    assert standard_rule_matches(metric_condition("not_empty", 100), company=rows) is not_empty


def test_metric_condition__no_row__reads_zero() -> None:
    assert standard_rule_matches(metric_condition("is_empty"))
    assert not standard_rule_matches(metric_condition("not_empty"))


@pytest.mark.parametrize(
    ("period", "reset"),
    [("all_time", "first_of_month"), ("current_month", "billing_cycle"), ("current_day", "first_of_month")],
)
def test_metric_condition__row_of_other_window__not_read(period: str, reset: str) -> None:
    rows = company(metrics=[metric(500, period=period, reset=reset)])

    assert standard_rule_matches(metric_condition("lt", 100), company=rows)


def test_metric_condition__null_period_and_reset__all_time_first_of_month_row() -> None:
    rows = company(metrics=[metric(7, period="all_time", reset="first_of_month")])

    assert standard_rule_matches(
        metric_condition("eq", 7, metric_period=None, metric_period_month_reset=None), company=rows
    )


def test_metric_condition__duplicate_rows__first_wins() -> None:
    rows = company(metrics=[metric(7), metric(200)])

    assert standard_rule_matches(metric_condition("eq", 7), company=rows)


def test_metric_condition__no_event_subtype__false() -> None:
    assert not standard_rule_matches(metric_condition("is_empty", event_subtype=None))


def test_metric_condition__no_company__false_even_for_is_empty() -> None:
    assert not standard_rule_matches(metric_condition("is_empty"), company=None, user_document=user())


def test_metric_condition__null_metric_value__fails_the_whole_rule_even_in_a_group() -> None:
    plan = condition("plan", resource_ids=["plan_P"])
    null_limit = metric_condition("lt", None)

    assert check(flag(rule("r", groups=[[null_limit, plan]])), company()).rule_id is None
    assert check(flag(rule("r", groups=[[plan, null_limit]])), company()).rule_id == "r"  # never reached
    assert check(flag(rule("r", groups=[[null_limit, plan]]), rule("d", "default")), company()).rule_id == "d"


def test_metric_condition__comparison_trait__limit_is_company_trait_strict_int() -> None:
    limit = metric_condition("lt", 100, comparison_trait_definition=trait_definition("td_limit"))

    assert not standard_rule_matches(limit, company=company(metrics=[metric(60)], traits=[trait("td_limit", "50")]))
    assert standard_rule_matches(limit, company=company(metrics=[metric(4)], traits=[trait("td_limit", "+7")]))
    # not a strict integer, or missing: the limit reads 0
    assert not standard_rule_matches(limit, company=company(metrics=[metric(4)], traits=[trait("td_limit", "5.7")]))
    assert not standard_rule_matches(limit, company=company(metrics=[metric(0)]))


def test_metric_condition__comparison_trait_of_user_definition__still_read_from_company() -> None:
    limit = metric_condition("lt", 100, comparison_trait_definition=trait_definition("td_limit", "int", "user"))
    on_company = company(metrics=[metric(10)], traits=[trait("td_limit", "50", "int", "user")])

    assert standard_rule_matches(limit, company=on_company)
    assert not standard_rule_matches(
        limit,
        company=company(metrics=[metric(10)]),
        user_document=user(traits=[trait("td_limit", "50", "int", "user")]),
    )


@pytest.mark.parametrize(
    ("options", "added"),
    [
        ({"usage": 3}, 3),
        ({"event_usage": {"event_subtype": "other", "quantity": 5}}, 0),
        ({"usage": 3, "event_usage": {"event_subtype": "other", "quantity": 5}}, 3),
        ({"usage": 3, "event_usage": {"event_subtype": "api-call", "quantity": 0}}, 3),
        ({"usage": 3, "event_usage": {"event_subtype": "api-call", "quantity": 2}}, 2),
    ],
)
def test_metric_condition__preflight__event_usage_for_this_event_wins_over_usage(
    options: dict[str, object], added: int
) -> None:
    result = check(
        flag(rule("r", conditions=[metric_condition("lt", 100)])),
        company(metrics=[metric(97)]),
        None,
        options,
        trace=True,
    )

    assert result.trace is not None
    inputs = result.trace[0].conditions[0].metric
    assert inputs is not None and inputs.preflight_added == added
    assert (result.rule_id == "r") is (97 + added < 100)

"""Result fields around the decision (PROTOCOL.md §5.1, §4.11): entitlement echo, usage figures, preflight errors and
the wire shape; VERIFIED on Schematic's engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from entitlements import engine
from entitlements.engine.wire import format_credits, rfc3339_with_fraction
from entitlements.tests.engine.builders import (
    NOW,
    check,
    company,
    definition,
    flag,
    metric,
    metric_condition,
    rule,
    trait,
    trait_condition,
    user,
)


def _figures(result: engine.CheckResult) -> tuple[Any, ...]:
    return (result.feature_usage, result.feature_allocation, result.feature_usage_event, result.feature_usage_period)


def test_usage_figures__standard_rule_wins__not_reported() -> None:
    result = check(flag(rule("r", "standard", True, [metric_condition()])), company(metrics=[metric(7)]))

    assert _figures(result) == (None, None, None, None) and result.feature_usage_reset_at is None


def test_usage_figures__metric_condition__raw_usage_without_preflight() -> None:
    document = flag(rule("r", "company_override", True, [metric_condition("lt", 100)]))

    result = check(document, company(metrics=[metric(50)]), options={"usage": 1})

    assert _figures(result) == (50, 100, "api-call", "current_month")
    assert result.feature_usage_reset_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def test_usage_figures__metric_in_a_group__not_reported() -> None:
    result = check(
        flag(rule("r", "plan_entitlement", True, groups=[[metric_condition()]])), company(metrics=[metric(7)])
    )

    assert result.rule_id == "r" and _figures(result) == (None, None, None, None)


def test_usage_figures__comparison_trait_not_an_integer__allocation_falls_back_to_metric_value() -> None:
    limit = metric_condition("lte", 100, comparison_trait_definition=definition("td_limit"))

    result = check(flag(rule("r", "plan_entitlement", True, [limit])), company(traits=[trait("td_limit", "abc")]))

    assert (result.feature_usage, result.feature_allocation) == (0, 100)


def test_usage_figures__trait_condition__company_trait_strict_ints() -> None:
    document = flag(rule("r", "plan_entitlement", True, [trait_condition("ne", "10")]))

    assert _figures(check(document, company(traits=[trait("td_1", "7")]))) == (7, 10, None, None)
    assert _figures(check(document, company(traits=[trait("td_1", "5.9")]))) == (0, 10, None, None)


def test_usage_figures__user_trait_condition__usage_still_read_from_company() -> None:
    document = flag(rule("r", "plan_entitlement", True, [trait_condition("ne", "10", "int", "user")]))

    with_company = check(
        document, company(traits=[trait("td_1", "7")]), user(traits=[trait("td_1", "9", "int", "user")])
    )
    without_company = check(document, None, user(traits=[trait("td_1", "9", "int", "user")]))

    assert (with_company.feature_usage, with_company.feature_allocation) == (7, 10)
    assert (without_company.rule_id, without_company.feature_usage, without_company.feature_allocation) == (
        "r",
        None,
        None,
    )


def test_usage_figures__billing_cycle_with_naive_subscription__no_reset() -> None:
    limit = metric_condition(metric_period_month_reset="billing_cycle")
    subscription = {"id": "s", "period_start": "2026-10-12T07:49:52", "period_end": "2027-10-12T07:49:52Z"}

    result = check(flag(rule("r", "plan_entitlement", True, [limit])), company(subscription=subscription))

    assert result.feature_usage == 0 and result.feature_usage_reset_at is None


def test_entitlement__company_has_one_for_the_flag_key__echoed_normalised() -> None:
    entitlements = [
        {"feature_id": "feat_other", "feature_key": "F", "value_type": "boolean"},
        {
            "feature_id": "feat_1",
            "feature_key": "f",
            "value_type": "credit",
            "credit_total": 100,
            "credit_remaining": 10,
            "consumption_rate": 2.5,
            "allocation": None,
            "soft_limit": 4,
            "extra": "dropped",
            "warning_tiers": [{"key": "w", "value": 3}],
            "metric_reset_at": "2026-12-01T00:00:00+01:00",
        },
        {"feature_id": "feat_2", "feature_key": "f", "value_type": "boolean"},
    ]

    wire = check(flag(default=False), company(entitlements=entitlements)).to_wire()

    assert wire["entitlement"] == {
        "feature_id": "feat_1",
        "feature_key": "f",
        "value_type": "credit",
        "soft_limit": 4,
        "metric_reset_at": "2026-12-01T00:00:00+01:00",
        "credit_total": 100.0,
        "credit_remaining": 10.0,
        "consumption_rate": 2.5,
        "warning_tiers": [{"key": "w", "value": 3}],
    }
    assert isinstance(wire["entitlement"]["credit_total"], float)


def test_to_wire__fresh_copy__prepared_company_unchanged() -> None:
    prepared = engine.prepare_company(
        company(entitlements=[{"feature_id": "x", "feature_key": "f", "value_type": "boolean"}])
    )
    wire = engine.evaluate(engine.prepare_flag(flag()), prepared, None, None, now=NOW).to_wire()

    wire["entitlement"]["feature_id"] = "changed"

    assert prepared.entitlements_by_key["f"]["feature_id"] == "x"


@pytest.mark.parametrize("default", [False, True])
def test_negative_preflight__any_rules__flag_default_with_err(default: bool) -> None:
    document = flag(rule("r_kill", "global_override", True), default=default)
    entitlements = [{"feature_id": "x", "feature_key": "f", "value_type": "boolean"}]

    wire = check(document, company(entitlements=entitlements), user(), {"usage": -1}).to_wire()

    assert wire == {
        "value": default,
        "reason": "No rules matched; default value for flag",
        "flag_key": "f",
        "flag_id": "flag_f",
        "company_id": "comp_1",
        "user_id": "user_1",
        "rule_id": None,
        "rule_type": None,
        "entitlement": None,
        "feature_allocation": None,
        "feature_usage": None,
        "feature_usage_event": None,
        "feature_usage_period": None,
        "feature_usage_reset_at": None,
        "err": "preflight usage cannot be negative",
    }


def test_evaluate__naive_now__refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check(flag(), now=dt.datetime(2026, 11, 21))


def test_evaluate__no_context__flag_default() -> None:
    result = check(flag(rule("r", conditions=[metric_condition()]), default=True))

    assert (result.value, result.reason, result.company_id, result.user_id) == (
        True,
        "No rules matched; default value for flag",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (2.5, "2.5"),
        (3.0, "3"),
        (1.0, "1"),
        (0.0, "0"),
        (-1.0, "-1"),
        (0.3333333333, "0.3333333333"),
        (1e20, "100000000000000000000"),
        (1e-05, "0.00001"),
        (1.2345e25, "12345000000000000000000000"),
    ],
)
def test_format_credits__amount__shortest_digits_without_exponent(amount: float, text: str) -> None:
    assert format_credits(amount) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "2026-12-01T00:00:00Z"),
        (dt.datetime(2026, 12, 12, 7, 49, 52, 500_000, tzinfo=dt.UTC), "2026-12-12T07:49:52.500Z"),
        (dt.datetime(2026, 12, 12, 7, 49, 52, 123_456, tzinfo=dt.UTC), "2026-12-12T07:49:52.123456Z"),
        (dt.datetime(2026, 12, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))), "2026-12-01T00:00:00Z"),
    ],
)
def test_rfc3339__instant__utc_with_z(moment: dt.datetime, text: str) -> None:
    assert rfc3339_with_fraction(moment) == text

"""``trace=True`` lists every rule tried, in order, and what each condition read (for explanations in plain English)."""

from __future__ import annotations

from entitlements.engine import ConditionTrace, TraceStep
from entitlements.tests.engine.builders import (
    check,
    company,
    condition,
    credit_condition,
    flag,
    metric,
    metric_condition,
    rule,
    trait,
    trait_condition,
)


def _steps(result_trace: tuple[TraceStep, ...] | None) -> tuple[TraceStep, ...]:
    assert result_trace is not None
    return result_trace


def test_trace__not_requested__none() -> None:
    assert check(flag(rule("r")), company()).trace is None


def test_trace__numeric_limit_exceeded__rules_in_order_with_metric_inputs() -> None:
    # Given a 100/month limit with usage 100, and the usage-exceeded fallback
    plan = condition("plan", resource_ids=["plan_P"])
    limit = metric_condition("lt", 100)
    document = flag(
        rule("r_exceeded", "plan_entitlement_usage_exceeded", False, [condition("plan", resource_ids=["plan_P"])]),
        rule("r_limit", "plan_entitlement", True, [plan, limit]),
    )

    # When checked with tracing
    steps = _steps(check(document, company(metrics=[metric(100)]), trace=True).trace)

    # Then the entitlement rule is tried first and fails on the metric, then the exceeded rule wins
    assert [(step.rule_id, step.rule_type, step.value, step.matched) for step in steps] == [
        ("r_limit", "plan_entitlement", True, False),
        ("r_exceeded", "plan_entitlement_usage_exceeded", False, True),
    ]
    plan_trace, metric_trace = steps[0].conditions
    assert plan_trace.matched and plan_trace.id_set is not None
    assert plan_trace.id_set.subject == "plan_ids" and plan_trace.id_set.subject_ids == ("plan_P",)
    assert (metric_trace.condition_type, metric_trace.operator, metric_trace.matched) == ("metric", "lt", False)
    assert metric_trace.metric is not None
    assert metric_trace.metric.event_subtype == "api-call"
    assert (metric_trace.metric.period, metric_trace.metric.month_reset) == ("current_month", "first_of_month")
    assert (metric_trace.metric.value_read, metric_trace.metric.preflight_added, metric_trace.metric.limit) == (
        100,
        0,
        100,
    )
    assert metric_trace.metric.window_reset_at == "2026-12-01T00:00:00Z"


def test_trace__preflight_usage__added_to_metric_value() -> None:
    document = flag(rule("r", "plan_entitlement", True, [metric_condition("lt", 100)]))

    steps = _steps(check(document, company(metrics=[metric(99)]), options={"usage": 1}, trace=True).trace)

    inputs = steps[0].conditions[0].metric
    assert inputs is not None
    assert (inputs.value_read, inputs.preflight_added, inputs.compared_value, inputs.row_found) == (99, 1, 100, True)
    assert not steps[0].matched


def test_trace__trait_condition__definition_entity_type_and_both_sides() -> None:
    document = flag(rule("r_seats", conditions=[trait_condition("lte", "10")]))

    steps = _steps(check(document, company(traits=[trait("td_1", "11")]), trace=True).trace)

    (only,) = steps
    assert not only.matched
    inputs = only.conditions[0].trait
    assert inputs is not None
    assert (inputs.definition_id, inputs.entity_type, inputs.comparable_type) == ("td_1", "company", "int")
    assert (inputs.left, inputs.right, inputs.right_source, inputs.trait_found) == ("11", "10", "trait_value", True)


def test_trace__credit_condition__balance_cost_rate_and_policy_verdict() -> None:
    policy = {"id": "pol_1", "credit_id": "cred_ai", "kind": "per_draw", "limit": 1, "scope": "company"}
    document = flag(rule("r_credit", "plan_entitlement", True, [credit_condition("lt", 2.5)]))

    result = check(document, company(credit_balances={"cred_ai": 100}, credit_spend_policies=[policy]), trace=True)

    inputs = _steps(result.trace)[0].conditions[0].credit
    assert inputs is not None
    assert (inputs.credit_id, inputs.balance, inputs.is_postpaid, inputs.overdraft_allowance) == (
        "cred_ai",
        100,
        False,
        0,
    )
    assert (inputs.cost, inputs.cost_source, inputs.consumption_rate) == (2.5, "one_unit", 2.5)
    assert inputs.balance_sufficient
    assert (inputs.spend_policy_verdict, inputs.spend_policy_id, inputs.inverted) == ("blocked", "pol_1", False)
    assert result.reason == "A draw of 2.5 credits exceeds the company limit of 1 credit per request"


def test_trace__failed_condition__later_conditions_skipped() -> None:
    document = flag(rule("r", conditions=[condition("plan", resource_ids=["plan_X"]), metric_condition()]))

    (step,) = _steps(check(document, company(), trace=True).trace)

    assert [(c.evaluated, c.outcome) for c in step.conditions] == [(True, "not_matched"), (False, "skipped")]


def test_trace__groups__index_recorded_and_first_match_ends_group() -> None:
    companies = [condition("company", resource_ids=["comp_9"]), condition("company", resource_ids=["comp_1"])]
    plans_or_usage = [condition("plan", resource_ids=["plan_P"]), metric_condition()]
    document = flag(rule("r", groups=[companies, plans_or_usage]))

    (step,) = _steps(check(document, company(), trace=True).trace)

    assert step.matched
    assert [(c.group_index, c.outcome) for c in step.conditions] == [
        (0, "not_matched"),
        (0, "matched"),
        (1, "matched"),
        (1, "skipped"),
    ]


def test_trace__global_override__conditions_not_evaluated() -> None:
    document = flag(rule("r_kill", "global_override", False, [condition("plan", resource_ids=["plan_X"])]))

    (step,) = _steps(check(document, company(), trace=True).trace)

    assert step.matched and step.is_unconditional
    assert step.conditions == (
        ConditionTrace(step.conditions[0].condition_id, "plan", "eq", None, False, False, "skipped"),
    )


def test_trace__no_company__outcome_says_so() -> None:
    document = flag(rule("r", conditions=[metric_condition()]))

    (step,) = _steps(check(document, None, trace=True).trace)

    assert step.conditions[0].outcome == "no_company"


def test_trace__rules_from_every_source__source_recorded() -> None:
    company_rule = rule("r_company", "company_override", True, [condition("company", resource_ids=["comp_9"])])

    steps = _steps(check(flag(rule("r_flag")), company(rules=[company_rule]), trace=True).trace)

    assert [(step.rule_id, step.source) for step in steps] == [("r_company", "company"), ("r_flag", "flag")]

"""Which rule is tried first (PROTOCOL.md §5.1): type order, value-true first in optimistic types, priority in
``standard``, and flag → company → user for ties; VERIFIED on Schematic's engine."""

from __future__ import annotations

import pytest

from entitlements.tests.engine.builders import check, company, condition, flag, rule, user

OPTIMISTIC = [
    "company_override",
    "plan_entitlement",
    "company_override_usage_exceeded",
    "plan_entitlement_usage_exceeded",
]
ON_COMPANY = [condition("company", resource_ids=["comp_1"])]


def _winner(
    flag_rules: list[dict[str, object]],
    company_rules: list[dict[str, object]] | None = None,
    user_rules: list[dict[str, object]] | None = None,
) -> str | None:
    user_document = None if user_rules is None else user(rules=user_rules)
    return check(flag(*flag_rules), company(rules=company_rules or []), user_document).rule_id


def test_order__rule_types__fixed_type_order_beats_document_order() -> None:
    types = [
        "default",
        "standard",
        "plan_entitlement_usage_exceeded",
        "company_override_usage_exceeded",
        "plan_entitlement",
        "company_override",
        "global_override",
    ]

    assert _winner([rule(f"r_{rule_type}", rule_type, True, ON_COMPANY) for rule_type in types]) == "r_global_override"
    assert (
        _winner([rule("r_std", "standard", True), rule("r_pex", "plan_entitlement_usage_exceeded", False)]) == "r_pex"
    )


@pytest.mark.parametrize("rule_type", OPTIMISTIC)
def test_order__optimistic_type__value_true_first_across_sources(rule_type: str) -> None:
    assert (
        _winner([rule("r_false", rule_type, False, ON_COMPANY), rule("r_true", rule_type, True, ON_COMPANY)])
        == "r_true"
    )
    assert (
        _winner([rule("r_flag", rule_type, False, ON_COMPANY)], [rule("r_company", rule_type, True, ON_COMPANY)])
        == "r_company"
    )
    assert (
        _winner([rule("r_flag", rule_type, True, ON_COMPANY)], [rule("r_company", rule_type, False, ON_COMPANY)])
        == "r_flag"
    )


@pytest.mark.parametrize("rule_type", [*OPTIMISTIC, "global_override", "default"])
def test_order__non_standard_type__priority_ignored(rule_type: str) -> None:
    rules = [rule("r_5", rule_type, True, ON_COMPANY, priority=5), rule("r_1", rule_type, True, ON_COMPANY, priority=1)]

    assert _winner(rules) == "r_5"


@pytest.mark.parametrize("rule_type", ["global_override", "default"])
def test_order__unconditional_type__value_false_not_deferred(rule_type: str) -> None:
    assert _winner([rule("r_false", rule_type, False), rule("r_true", rule_type, True)]) == "r_false"


@pytest.mark.parametrize(
    ("flag_priority", "company_priority", "winner"),
    [(1, 1, "r_flag"), (2, 1, "r_company"), (1, 2, "r_flag"), (0, -1, "r_company")],
)
def test_order__standard__ascending_priority_then_flag_before_company(
    flag_priority: int, company_priority: int, winner: str
) -> None:
    flag_rules = [rule("r_flag", "standard", False, ON_COMPANY, priority=flag_priority)]
    company_rules = [rule("r_company", "standard", True, ON_COMPANY, priority=company_priority)]

    assert _winner(flag_rules, company_rules) == winner


def test_order__standard_tie__company_before_user() -> None:
    assert _winner([], [rule("r_company", value=False)], [rule("r_user", value=True)]) == "r_company"
    assert _winner([rule("r_flag", value=True)], [], [rule("r_user", value=False)]) == "r_flag"


def test_order__company_rules_of_other_flags_or_without_flag_id__ignored() -> None:
    assert _winner([], [rule("r_other", "company_override", True, flag_id="flag_other")]) is None
    assert _winner([], [rule("r_none", "company_override", True, flag_id=None)]) is None
    assert _winner([], [], [rule("r_user_other", "company_override", True, flag_id="flag_other")]) is None


def test_order__flag_rule_flag_id__not_checked() -> None:
    assert _winner([rule("r", flag_id="flag_other")]) == "r"


def test_order__override_lowering_a_plan_limit__plan_rule_still_tried_first() -> None:
    # VERIFIED C7: plan_entitlement comes before company_override_usage_exceeded
    plan = rule("r_plan", "plan_entitlement", True, ON_COMPANY)
    override_exceeded = rule("r_override_exceeded", "company_override_usage_exceeded", False, ON_COMPANY)

    assert _winner([plan], [override_exceeded]) == "r_plan"


def test_order__unconditional_types__conditions_ignored() -> None:
    failing = [condition("plan", resource_ids=["plan_X"])]

    assert _winner([rule("r_kill", "global_override", True, failing)]) == "r_kill"
    assert _winner([rule("r_default", "default", True, failing)]) == "r_default"

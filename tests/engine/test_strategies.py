"""The scenario strategy produces valid wire documents and covers the vocabulary the differential test relies on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("wasmtime")
pytest.importorskip("schematic.datastream.rules_engine")
pytest.importorskip("hypothesis")

from hypothesis import Phase, given, settings

from tests.engine.strategies import (
    CONDITION_TYPES,
    OPERATORS,
    PERIODS,
    RULE_TYPES,
    Scenario,
    scenario,
    scenario_at,
)
from tests.engine.wasm import WasmEngineError, sdk_validate, wasm_evaluate


def _rules(flag: dict[str, Any], company: dict[str, Any] | None, user: dict[str, Any] | None):
    for where, doc in (("flag", flag), ("company", company), ("user", user)):
        if doc is not None:
            for rule in doc["rules"]:
                yield where, rule


def _conditions(rule: dict[str, Any]):
    yield from rule["conditions"]
    for group in rule["condition_groups"]:
        yield from group["conditions"]


def _check_wire_shape(sample: Scenario) -> None:
    flag, company, user, options = sample
    rule_ids = [rule["id"] for _, rule in _rules(flag, company, user)]
    assert len(rule_ids) == len(set(rule_ids))
    for _, rule in _rules(flag, company, user):
        assert rule["id"].startswith("rule_")
        assert isinstance(rule["priority"], int)
        for condition in _conditions(rule):
            assert isinstance(condition["trait_value"], str)
            assert condition["id"].startswith("cond_")
            assert condition.get("metric_value") is None or isinstance(condition["metric_value"], int)
    if company is not None:
        assert company["id"].startswith("comp_")
        assert all(isinstance(v, str) for v in company["keys"].values())
        assert company["credit_balances"] is not None
        for metric in company["metrics"]:
            assert isinstance(metric["value"], int)
            assert metric["created_at"].endswith("Z")
        if company["subscription"] is not None:
            assert company["subscription"]["period_start"].endswith("Z")
            assert company["subscription"]["period_end"].endswith("Z")
    if options is not None:
        assert set(options) == {"usage", "event_usage", "credit_cost"}
        assert options["usage"] is None or isinstance(options["usage"], int)


@settings(max_examples=300, deadline=None, database=None)
@given(scenario_at())
def test_scenario__documents__accepted_by_sdk_models_and_engine(sample: tuple[datetime, Scenario]):
    now, documents = sample
    flag, company, user, options = documents
    _check_wire_shape(documents)
    sdk_validate(flag, company, user)
    unknown_rule_type = any(rule["rule_type"] not in RULE_TYPES for _, rule in _rules(flag, company, user))
    try:
        wasm_evaluate(flag, company, user, options, now=now)
    except WasmEngineError:
        assert unknown_rule_type
    else:
        assert not unknown_rule_type


@settings(max_examples=30, deadline=None, database=None)
@given(scenario())
def test_scenario__wall_clock_variant__valid(documents: Scenario):
    flag, company, user, _ = documents
    _check_wire_shape(documents)
    sdk_validate(flag, company, user)


_CATEGORY = {"metric": "metric", "trait": "trait", "credit": "credit"}  # the other six compare ids


def _features(now: datetime, documents: Scenario) -> set[tuple[Any, ...]]:
    flag, company, user, options = documents
    seen: set[tuple[Any, ...]] = {("default_value", flag["default_value"])}
    for where, rule in _rules(flag, company, user):
        seen.add(("rule_type", rule["rule_type"]))
        if rule["condition_groups"]:
            seen.add(("condition_groups",))
        if where != "flag":
            own = rule["flag_id"] == flag["id"]
            seen.add((f"{where}.rules", "own flag" if own else "other flag" if rule["flag_id"] else "no flag"))
        for condition in _conditions(rule):
            seen.add(("condition", condition["condition_type"]))
            seen.add(("operator", _CATEGORY.get(condition["condition_type"], "ids"), condition["operator"]))
            if condition["condition_type"] == "metric":
                seen.add(("metric period", condition.get("metric_period"), condition.get("metric_period_month_reset")))
                if condition.get("comparison_trait_definition"):
                    seen.add(("metric vs trait",))
            if condition["condition_type"] == "trait" and condition.get("trait_definition"):
                definition = condition["trait_definition"]
                seen.add(("trait", definition["comparable_type"], definition["entity_type"]))
                if condition.get("comparison_trait_definition"):
                    seen.add(("trait vs trait",))
            if condition["condition_type"] == "credit":
                seen.add(("consumption_rate", condition.get("consumption_rate")))
    standard = [rule["priority"] for _, rule in _rules(flag, company, user) if rule["rule_type"] == "standard"]
    if len(standard) != len(set(standard)):
        seen.add(("standard priority tie",))
    if company is not None:
        limits = {
            (c["event_subtype"], c.get("metric_value"))
            for _, rule in _rules(flag, company, user)
            for c in _conditions(rule)
            if c["condition_type"] == "metric"
        }
        for metric in company["metrics"]:
            for event_subtype, limit in limits:
                if metric["event_subtype"] == event_subtype and limit is not None:
                    seen.add(("metric vs limit", metric["value"] - limit))
        if company["subscription"] is not None:
            seen.add(("subscription", int(company["subscription"]["period_start"][8:10]) >= 29))
        for balance in company["credit_balances"].values():
            seen.add(("balance sign", (balance > 0) - (balance < 0), balance != int(balance)))
        for limit in (company.get("credit_postpaid") or {}).values():
            seen.add(("postpaid", limit["overdraft_limit"] is None))
        for policy in company.get("credit_spend_policies") or []:
            seen.add(("spend policy", policy["kind"]))
        for entitlement in company["entitlements"] or []:
            if entitlement["feature_key"] == flag["key"]:
                seen.add(("entitlement echo",))
        if company["plan_ids"]:
            seen.add(("plans", len(company["plan_ids"]) > 1))
    if user is not None:
        seen.add(("user",))
    if options is not None:
        for key in ("usage", "event_usage", "credit_cost"):
            if options[key] is not None:
                seen.add(("option", key))
        quantities = [options["usage"], (options["event_usage"] or {}).get("quantity")]
        quantities += list((options["credit_cost"] or {}).values())
        for quantity in quantities:
            if quantity is not None:
                seen.add(("option sign", (quantity > 0) - (quantity < 0)))
    return seen


EXPECTED_FEATURES: set[tuple[Any, ...]] = (
    {("default_value", True), ("default_value", False), ("condition_groups",), ("standard priority tie",)}
    | {("rule_type", rule_type) for rule_type in RULE_TYPES}
    | {("condition", condition_type) for condition_type in CONDITION_TYPES}
    | {("operator", category, operator) for category in ("ids", "metric", "trait", "credit") for operator in OPERATORS}
    | {("metric period", period, "first_of_month") for period in PERIODS}
    | {("metric period", "current_month", "billing_cycle"), ("metric vs trait",), ("trait vs trait",)}
    | {("trait", comparable, "company") for comparable in ("int", "string", "bool", "date")}
    | {("trait", comparable, "user") for comparable in ("int", "string", "bool", "date")}
    | {("consumption_rate", rate) for rate in (None, 0, 0.5, 2.5)}
    | {("metric vs limit", delta) for delta in (-1, 0, 1)}
    | {("subscription", True), ("subscription", False)}
    | {("balance sign", sign, fractional) for sign in (-1, 0, 1) for fractional in (False,)}
    | {("balance sign", 1, True), ("balance sign", -1, True)}
    | {("postpaid", True), ("postpaid", False), ("spend policy", "per_draw"), ("spend policy", "window")}
    | {("entitlement echo",), ("plans", True), ("plans", False), ("user",)}
    | {("company.rules", "own flag"), ("company.rules", "other flag"), ("company.rules", "no flag")}
    | {("user.rules", "own flag")}
    | {("option", key) for key in ("usage", "event_usage", "credit_cost")}
    | {("option sign", sign) for sign in (-1, 0, 1)}
)


def test_scenario__1000_examples__cover_the_vocabulary():
    seen: set[tuple[Any, ...]] = set()

    @settings(max_examples=1000, derandomize=True, database=None, deadline=None, phases=[Phase.generate])
    @given(scenario_at())
    def collect(sample):
        seen.update(_features(*sample))

    collect()
    assert EXPECTED_FEATURES - seen == set()

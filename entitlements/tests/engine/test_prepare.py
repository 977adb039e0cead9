"""Documents are validated once, as the engine's deserialiser would (PROTOCOL.md §4); malformed ones raise
``DocumentError`` naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from entitlements import engine
from entitlements.tests.engine.builders import company, condition, flag, metric, metric_condition, rule, trait, user


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != key}


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (flag(rule("r", "foo")), "flag.rules[0].rule_type"),
        (_without(flag(), "default_value"), "flag.default_value"),
        (flag(_without(rule("r"), "name")), "flag.rules[0].name"),
        (flag({**rule("r"), "priority": "1"}), "flag.rules[0].priority"),
        (
            flag(rule("r", conditions=[_without(condition("plan"), "trait_value")])),
            "flag.rules[0].conditions[0].trait_value",
        ),
        (
            flag(rule("r", conditions=[{**metric_condition(), "metric_value": 5.0}])),
            "flag.rules[0].conditions[0].metric_value",
        ),
        (
            flag(rule("r", conditions=[metric_condition(metric_period="currentMonth")])),
            "flag.rules[0].conditions[0].metric_period",
        ),
        (flag(rule("r", conditions=[condition("trait", trait_value=5)])), "flag.rules[0].conditions[0].trait_value"),
    ],
)
def test_prepare_flag__malformed__document_error_with_path(document: dict[str, Any], path: str) -> None:
    with pytest.raises(engine.DocumentError) as raised:
        engine.prepare_flag(document)

    assert raised.value.path == path
    assert isinstance(raised.value, engine.EngineError)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (company(rules=[rule("r", "foo", flag_id="flag_other")]), "company.rules[0].rule_type"),
        (_without(company(), "account_id"), "company.account_id"),
        (company(metrics=[metric(5), {**metric(1), "value": 5.5}]), "company.metrics[1].value"),
        (company(metrics=[_without(metric(5), "created_at")]), "company.metrics[0].created_at"),
        (company(credit_balances={"cred_ai": "1"}), "company.credit_balances.cred_ai"),
        (company(keys={"external_id": 5}), "company.keys.external_id"),
        (company(traits=[{"trait_definition": None, "value": 5}]), "company.traits[0].value"),
        (company(traits=[trait("td", "x", "weird")]), "company.traits[0].trait_definition.comparable_type"),
        (
            company(entitlements=[{"feature_id": "f", "feature_key": "k", "value_type": "weird"}]),
            "company.entitlements[0].value_type",
        ),
        (
            company(subscription={"id": "s", "period_start": "yesterday", "period_end": "2027-01-01T00:00:00Z"}),
            "company.subscription.period_start",
        ),
    ],
)
def test_prepare_company__malformed__document_error_with_path(document: dict[str, Any], path: str) -> None:
    with pytest.raises(engine.DocumentError) as raised:
        engine.prepare_company(document)

    assert raised.value.path == path


def test_prepare_company__lists_missing_or_null__empty() -> None:
    document = {**company(plan_ids=None, metrics=None, traits=None, rules=None, entitlements=None)}
    for key in ("plan_version_ids", "billing_product_ids", "credit_balances", "keys"):
        document.pop(key)

    prepared = engine.prepare_company(document)

    assert (prepared.plan_ids, prepared.metrics, prepared.rules_by_flag) == (frozenset(), {}, {})


def test_prepare_company__unknown_fields__ignored() -> None:
    assert engine.prepare_company(company(planIds=["x"], extra={"a": 1})).plan_ids == frozenset({"plan_P"})


def test_prepare_company__naive_subscription__billing_reset_disabled() -> None:
    document = company(
        subscription={"id": "s", "period_start": "2026-10-12T07:49:52", "period_end": "2027-10-12T07:49:52Z"}
    )

    subscription = engine.prepare_company(document).subscription

    assert subscription is not None and not subscription.is_usable


def test_prepare_user__malformed__document_error_with_path() -> None:
    with pytest.raises(engine.DocumentError) as raised:
        engine.prepare_user(_without(user(), "id"))

    assert raised.value.path == "user.id"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"usage": -1}, "preflight usage cannot be negative"),
        ({"event_usage": {"event_subtype": "x", "quantity": -1}}, "preflight usage cannot be negative"),
        ({"credit_cost": {"cred_other": -1}}, "preflight credit cost cannot be negative"),
        ({"usage": -1, "credit_cost": {"cred_ai": -1}}, "preflight usage cannot be negative"),
        ({"usage": 0, "credit_cost": {"cred_ai": 0}}, None),
    ],
)
def test_prepare_options__negative_quantities__kept_as_the_engine_error(
    options: dict[str, Any], error: str | None
) -> None:
    prepared = engine.prepare_options(options)

    assert prepared is not None and prepared.error == error


def test_prepare_options__fractional_usage__document_error() -> None:
    with pytest.raises(engine.DocumentError) as raised:
        engine.prepare_options({"usage": 2.5})

    assert raised.value.path == "options.usage"


def test_prepare_options__none_or_unknown_keys__none_or_ignored() -> None:
    assert engine.prepare_options(None) is None
    prepared = engine.prepare_options({"event_quantities": {"tokens": 1000}})
    assert prepared is not None and (prepared.usage, prepared.credit_costs, prepared.error) == (0, {}, None)

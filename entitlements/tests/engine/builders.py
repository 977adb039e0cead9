"""Wire-document builders for engine tests: Schematic-style payloads with every required key present."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from entitlements import engine

NOW = dt.datetime(2026, 11, 21, 7, 49, 52, tzinfo=dt.UTC)
"""The instant the golden cases were recorded at (their reset times are relative to it)."""

SCOPE = {"account_id": "acct_1", "environment_id": "env_1"}
_ids = itertools.count(1)


def condition(condition_type: str, operator: str = "eq", **fields: Any) -> dict[str, Any]:
    """A condition; ``resource_ids`` and ``trait_value`` default to empty, other fields as given."""
    document: dict[str, Any] = {
        "id": f"cond_{next(_ids)}",
        "condition_type": condition_type,
        "operator": operator,
        "resource_ids": fields.pop("resource_ids", []),
        "trait_value": fields.pop("trait_value", ""),
        **SCOPE,
    }
    document.update(fields)
    return document


def metric_condition(operator: str = "lt", limit: int | None = 100, **fields: Any) -> dict[str, Any]:
    """``api-call`` per current month (first of month) against ``limit``."""
    fields.setdefault("event_subtype", "api-call")
    fields.setdefault("metric_period", "current_month")
    fields.setdefault("metric_period_month_reset", "first_of_month")
    return condition("metric", operator, metric_value=limit, **fields)


def credit_condition(operator: str = "lt", rate: float | None = 2.5, **fields: Any) -> dict[str, Any]:
    """A ``cred_ai`` condition priced at ``rate`` per ``ai-query``."""
    fields.setdefault("credit_id", "cred_ai")
    fields.setdefault("event_subtype", "ai-query")
    return condition("credit", operator, consumption_rate=rate, **fields)


def definition(definition_id: str, comparable_type: str = "int", entity_type: str = "company") -> dict[str, str]:
    """A TraitDefinition."""
    return {"id": definition_id, "comparable_type": comparable_type, "entity_type": entity_type}


def trait_condition(
    operator: str, right: str, comparable_type: str = "int", entity_type: str = "company", **fields: Any
) -> dict[str, Any]:
    """A condition on trait ``td_1`` against ``right``."""
    return condition(
        "trait",
        operator,
        trait_value=right,
        trait_definition=definition("td_1", comparable_type, entity_type),
        **fields,
    )


def trait(definition_id: str, value: str, comparable_type: str = "int", entity_type: str = "company") -> dict[str, Any]:
    """A Trait value."""
    return {"trait_definition": definition(definition_id, comparable_type, entity_type), "value": value}


def rule(
    rule_id: str,
    rule_type: str = "standard",
    value: bool = True,
    conditions: list[dict[str, Any]] | None = None,
    groups: list[list[dict[str, Any]]] | None = None,
    priority: int = 0,
    flag_id: str | None = "flag_f",
) -> dict[str, Any]:
    """A rule named after its type."""
    return {
        "id": rule_id,
        "flag_id": flag_id,
        "rule_type": rule_type,
        "name": rule_type,
        "priority": priority,
        "conditions": conditions or [],
        "condition_groups": [{"conditions": group} for group in groups or []],
        "value": value,
        **SCOPE,
    }


def flag(*rules: dict[str, Any], default: bool = False) -> dict[str, Any]:
    """Flag ``f`` (``flag_f``)."""
    return {"id": "flag_f", "key": "f", "default_value": default, "rules": list(rules), **SCOPE}


def metric(
    value: int, event: str = "api-call", period: str = "current_month", reset: str = "first_of_month"
) -> dict[str, Any]:
    """A CompanyMetric row."""
    return {
        "event_subtype": event,
        "period": period,
        "month_reset": reset,
        "value": value,
        "created_at": "2025-01-01T00:00:00Z",
        "company_id": "comp_1",
        **SCOPE,
    }


def company(**fields: Any) -> dict[str, Any]:
    """Company ``comp_1`` on plan ``plan_P``."""
    document: dict[str, Any] = {
        "id": "comp_1",
        "keys": {"external_id": "ext-1"},
        "plan_ids": ["plan_P"],
        "plan_version_ids": [],
        "billing_product_ids": [],
        "base_plan_id": "plan_P",
        "credit_balances": {},
        "metrics": [],
        "traits": [],
        "rules": [],
        "subscription": None,
        "entitlements": [],
        **SCOPE,
    }
    document.update(fields)
    return document


def user(**fields: Any) -> dict[str, Any]:
    """User ``user_1``."""
    document: dict[str, Any] = {"id": "user_1", "keys": {"email": "a@b.c"}, "traits": [], "rules": [], **SCOPE}
    document.update(fields)
    return document


def check(
    flag_document: dict[str, Any],
    company_document: dict[str, Any] | None = None,
    user_document: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    *,
    now: dt.datetime = NOW,
    trace: bool = False,
) -> engine.CheckResult:
    """Prepare the documents and evaluate."""
    return engine.evaluate(
        engine.prepare_flag(flag_document),
        None if company_document is None else engine.prepare_company(company_document),
        None if user_document is None else engine.prepare_user(user_document),
        engine.prepare_options(options),
        now=now,
        trace=trace,
    )


def matches(condition_document: dict[str, Any], **context: Any) -> bool:
    """Whether a standard rule holding only ``condition_document`` matches (company ``comp_1`` unless given)."""
    company_document = context.pop("company", company())
    return check(flag(rule("r", conditions=[condition_document])), company_document, **context).rule_id == "r"

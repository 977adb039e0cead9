"""Engine evaluation per check: ``evaluate`` (trace off) for a prepared 30-feature company, next to a plain dict
lookup timed the same way, and — when the SDK is installed — Schematic's own WASM engine on the same documents.

Run: ``.venv/bin/python -m bench.engine_eval``
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

from entitlements import engine

NOW = dt.datetime(2026, 11, 21, 7, 49, 52, tzinfo=dt.UTC)
SCOPE = {"account_id": "acct_1", "environment_id": "env_1"}


def _condition(condition_id: str, condition_type: str, operator: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": condition_id,
        "condition_type": condition_type,
        "operator": operator,
        "resource_ids": [],
        "trait_value": "",
        **SCOPE,
        **fields,
    }


def _rule(rule_id: str, flag_id: str, rule_type: str, value: bool, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "flag_id": flag_id,
        "rule_type": rule_type,
        "name": rule_id,
        "priority": 0,
        "value": value,
        "conditions": conditions,
        "condition_groups": [],
        **SCOPE,
    }


def documents() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """30 flags (10 boolean, 15 metered, 5 trait-limited) and one company holding the rules for all of them."""
    flags, rules, metrics, traits, entitlements = [], [], [], [], []
    for index in range(30):
        flag_id, key = f"flag_{index}", f"feature-{index}"
        flags.append({"id": flag_id, "key": key, "default_value": False, "rules": [], **SCOPE})
        entitlements.append(
            {"feature_id": f"feat_{index}", "feature_key": key, "value_type": "numeric", "allocation": 100}
        )
        if index < 10:
            rules.append(_rule(f"rule_{index}", flag_id, "plan_entitlement", True, []))
            continue
        if index < 25:
            event = f"event-{index}"
            limit = _condition(
                f"cond_{index}",
                "metric",
                "lt",
                event_subtype=event,
                metric_value=100,
                metric_period="current_month",
                metric_period_month_reset="first_of_month",
            )
            metrics.append(
                {
                    "event_subtype": event,
                    "period": "current_month",
                    "month_reset": "first_of_month",
                    "value": 99 if index % 2 else 100,
                    "created_at": "2026-11-01T00:00:00Z",
                    "company_id": "comp_1",
                    **SCOPE,
                }
            )
        else:
            definition = {"id": f"td_{index}", "comparable_type": "int", "entity_type": "company"}
            limit = _condition(f"cond_{index}", "trait", "lt", trait_value="10", trait_definition=definition)
            traits.append({"trait_definition": definition, "value": "7"})
        rules.append(_rule(f"rule_{index}", flag_id, "plan_entitlement", True, [limit]))
        rules.append(_rule(f"rule_{index}_exceeded", flag_id, "plan_entitlement_usage_exceeded", False, []))
    company = {
        "id": "comp_1",
        "keys": {"external_id": "ext-1"},
        "plan_ids": ["plan_P"],
        "plan_version_ids": [],
        "billing_product_ids": [],
        "base_plan_id": "plan_P",
        "credit_balances": {"cred_ai": 10.0},
        "metrics": metrics,
        "traits": traits,
        "rules": rules,
        "subscription": None,
        "entitlements": entitlements,
        **SCOPE,
    }
    return flags, company


def _timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """(median, p99) microseconds of one call, each timed on its own with the same clock."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        call()
        samples.append(clock() - start)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def measure(flag: engine.Flag, company: engine.Company, rounds: int = 20_000) -> tuple[float, float]:
    """(median, p99) microseconds of one ``evaluate`` call."""
    return _timed(lambda: engine.evaluate(flag, company, None, None, now=NOW), rounds)


def _sdk_local_check(flag_document: dict[str, Any], company_document: dict[str, Any]) -> tuple[float, float] | None:
    """Median microseconds of the SDK's per-check work in datastream mode — envelope from its cached models, the WASM
    call, the result parsed — and of the WASM call alone; ``None`` without the SDK. Validation is done once first,
    as the SDK does on receipt of a document."""
    try:
        from tests.engine.wasm import _call, _engine, _envelope, sdk_validate
    except ImportError:
        return None
    import json

    client = _engine()
    flag_model, company_model, _ = sdk_validate(flag_document, company_document, None)
    now_ms = int(NOW.timestamp() * 1000)
    envelope = _envelope(flag_model, company_model, None, None)

    def sdk_check() -> object:
        return json.loads(_call(client, _envelope(flag_model, company_model, None, None), now_ms))

    return _timed(sdk_check, 1_000)[0], _timed(lambda: _call(client, envelope, now_ms), 1_000)[0]


def main() -> None:
    flag_documents, company_document = documents()
    flags = [engine.prepare_flag(document) for document in flag_documents]
    company = engine.prepare_company(company_document)
    cases = {
        "boolean": flags[0],
        "metered, under limit (99 < 100: usage figures + reset)": flags[11],
        "metered, at limit (falls to usage_exceeded)": flags[10],
        "trait-limited (7 < 10)": flags[25],
    }
    lookup = {flag.key: flag for flag in flags}
    dict_median, dict_p99 = _timed(lambda: lookup["feature-11"], 20_000)
    print("Engine benchmark — one check of one flag against a prepared company with 30 features (trace off)")
    print(f"{'baseline: dict lookup, timed the same way':58} median {dict_median:5.2f} µs   p99 {dict_p99:5.2f} µs")
    for label, flag in cases.items():
        median, p99 = measure(flag, company)
        print(f"{label:58} median {median:5.2f} µs   p99 {p99:5.2f} µs   ({median / dict_median:.0f}× the lookup)")
    all_medians = sorted(measure(flag, company, 2_000)[0] for flag in flags)
    print(f"{'all 30 flags, median of medians':58} median {statistics.median(all_medians):5.2f} µs   (aim ≤ 5 µs)")
    sdk = _sdk_local_check(flag_documents[11], company_document)
    if sdk is not None:
        ours = measure(flags[11], company)[0]
        label = "Schematic SDK local check (envelope + WASM + parse)"
        print(f"{label:58} median {sdk[0]:5.0f} µs   ({sdk[0] / ours:.0f}× ours)")
        print(f"{'  of which the WASM call alone':58} median {sdk[1]:5.0f} µs")


if __name__ == "__main__":
    main()

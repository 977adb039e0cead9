"""The WASM wrapper is faithful: every recorded case of ``engine-cases.json`` is reproduced exactly.

The cases were recorded through the SDK on 2026-11-21 at 07:49:52 UTC (case ``B-billing-cycle`` carries a subscription
that started "40 days ago": 2026-10-12T07:49:52Z). The engine's only clock is the one the host hands it, so pinning
``now`` to that instant reproduces every field, ``feature_usage_reset_at`` included. A second test runs the cases on
the wall clock, like the SDK does, and checks everything but the reset time, which must then lie in the future.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wasmtime")
pytest.importorskip("schematic.datastream.rules_engine")

from tests.engine.wasm import (
    WasmDocumentError,
    WasmEngineError,
    engine_version_key,
    normalise_result,
    normalise_timestamp,
    wasm_evaluate,
)

CASES_PATH = Path(__file__).resolve().parents[3] / "shared" / "schematic" / "engine-cases.json"
RECORDED_AT = datetime(2026, 11, 21, 7, 49, 52, tzinfo=UTC)

if not CASES_PATH.exists():  # pragma: no cover - shared/ sits beside the checkout on every machine of the project
    pytest.skip(f"{CASES_PATH} not found", allow_module_level=True)

CASES: list[dict[str, Any]] = json.loads(CASES_PATH.read_text())


def _run(case: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    given = case["input"]
    try:
        return wasm_evaluate(given["flag"], given["company"], given["user"], given["options"], now=now)
    except WasmEngineError as exc:
        return {"EXCEPTION": str(exc)}


def test_engine_is_the_one_the_cases_were_recorded_with():
    assert len(CASES) == 93
    assert engine_version_key() == "fde6dba2"


@pytest.mark.parametrize("case", CASES, ids=[case["case"] for case in CASES])
def test_wasm_evaluate__recorded_case__reproduces_recorded_output(case):
    assert normalise_result(_run(case, RECORDED_AT)) == normalise_result(case["output"])


@pytest.mark.parametrize("case", CASES, ids=[case["case"] for case in CASES])
def test_wasm_evaluate__wall_clock__same_output_and_reset_in_future(case):
    now = datetime.now(UTC)
    result = _run(case, None)
    recorded = case["output"]
    reset_at = result.pop("feature_usage_reset_at", None)
    recorded_reset_at = recorded.get("feature_usage_reset_at")
    assert result == {k: v for k, v in recorded.items() if k != "feature_usage_reset_at"}
    assert (reset_at is None) == (recorded_reset_at is None)
    if reset_at is not None:
        assert datetime.fromisoformat(normalise_timestamp(reset_at).replace("Z", "+00:00")) > now


def test_wasm_evaluate__unknown_rule_type__raises():
    (case,) = [case for case in CASES if case["case"] == "F16"]
    given = case["input"]
    with pytest.raises(WasmEngineError, match="error code"):
        wasm_evaluate(given["flag"], given["company"], given["user"], given["options"])


def test_wasm_evaluate__document_the_sdk_rejects__raises_document_error():
    given = copy.deepcopy(CASES[0]["input"])
    given["company"]["credit_balances"] = None  # PROTOCOL §4.5: null → SDK validation error
    with pytest.raises(WasmDocumentError):
        wasm_evaluate(given["flag"], given["company"], given["user"], given["options"])


def test_wasm_evaluate__clock__drives_reset_time():
    (case,) = [case for case in CASES if case["case"] == "B-day"]
    given = case["input"]
    result = wasm_evaluate(
        given["flag"], given["company"], given["user"], None, now=datetime(2030, 2, 28, 23, 59, tzinfo=UTC)
    )
    assert result["feature_usage_reset_at"] == "2030-03-01T00:00:00Z"


def _credit_case() -> dict[str, Any]:
    (case,) = [case for case in CASES if case["case"] == "D-bal-10"]
    given = copy.deepcopy(case["input"])
    given["flag"]["rules"] = [rule for rule in given["flag"]["rules"] if rule["rule_type"] == "plan_entitlement"]
    given["company"]["credit_balances"] = {"cred_ai": 100}
    return given


@pytest.mark.parametrize(
    ("options", "err"),
    [
        ({"usage": -1}, "preflight usage cannot be negative"),
        ({"event_usage": {"event_subtype": "ai-query", "quantity": -1}}, "preflight usage cannot be negative"),
        ({"credit_cost": {"cred_ai": -1}}, "preflight credit cost cannot be negative"),
    ],
)
def test_wasm_evaluate__negative_preflight__err_and_default(options, err):
    given = _credit_case()
    result = wasm_evaluate(given["flag"], given["company"], None, options, now=RECORDED_AT)
    assert result["err"] == err
    assert result["value"] is False
    assert result["reason"] == "No rules matched; default value for flag"
    assert result["rule_id"] is None


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (
            {"id": "csp_1", "credit_id": "cred_ai", "kind": "per_draw", "limit": 1, "scope": "company"},
            "A draw of 2.5 credits exceeds the company limit of 1 credit per request",
        ),
        (
            {
                "id": "csp_1",
                "credit_id": "cred_ai",
                "kind": "window",
                "limit": 10,
                "consumed": 9,
                "scope": "company",
                "window": {"count": 1, "unit": "day"},
            },
            "A draw of 2.5 credits exceeds the company limit of 10 credits per day",
        ),
    ],
)
def test_wasm_evaluate__spend_policy_blocks__reports_policy(policy, reason):
    given = _credit_case()
    given["company"]["credit_spend_policies"] = [policy]
    result = wasm_evaluate(given["flag"], given["company"], None, None, now=RECORDED_AT)
    assert result["value"] is False
    assert result["reason"] == reason
    assert result["credit_spend_policy"]["cost"] == 2.5
    assert result["credit_spend_policy"]["policy"]["id"] == "csp_1"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("2026-12-01T00:00:00+00:00", "2026-12-01T00:00:00Z"),
        ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2026-12-01T01:00:00+01:00", "2026-12-01T00:00:00Z"),
        ("2026-12-01T00:00:00.250000Z", "2026-12-01T00:00:00.25Z"),
        (None, None),
    ],
)
def test_normalise_timestamp(raw, canonical):
    assert normalise_timestamp(raw) == canonical

"""Every case Schematic's own engine answered (``engine-cases.json``, PROTOCOL.md §5.4) gives the recorded result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from entitlements import engine
from entitlements.tests.engine.builders import NOW, check

CASES_PATH = Path(__file__).resolve().parents[3].parent / "shared" / "schematic" / "engine-cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_PATH.read_text()) if CASES_PATH.exists() else []
ANSWERED = [case for case in CASES if "EXCEPTION" not in case["output"]]
REFUSED = [case for case in CASES if "EXCEPTION" in case["output"]]

pytestmark = pytest.mark.skipif(not CASES, reason=f"golden cases not found at {CASES_PATH}")


def _check(case: dict[str, Any], *, trace: bool = False) -> engine.CheckResult:
    given = case["input"]
    return check(given["flag"], given["company"], given["user"], given["options"], now=NOW, trace=trace)


@pytest.mark.parametrize("case", ANSWERED, ids=lambda case: case["case"])
def test_golden__recorded_case__same_result(case: dict[str, Any]) -> None:
    # Given a case recorded on Schematic's engine, When it is evaluated, Then the whole wire result is the recorded one.
    assert _check(case).to_wire() == case["output"]


@pytest.mark.parametrize("case", ANSWERED, ids=lambda case: case["case"])
def test_golden__recorded_case_traced__same_result_and_one_matched_step(case: dict[str, Any]) -> None:
    result = _check(case, trace=True)

    assert result.to_wire() == case["output"]
    assert result.trace is not None
    matched = [step.rule_id for step in result.trace if step.matched]
    assert matched == ([case["output"]["rule_id"]] if case["output"]["rule_id"] else [])


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case["case"])
def test_golden__engine_error_case__raises_engine_error(case: dict[str, Any]) -> None:
    with pytest.raises(engine.EngineError):
        _check(case)

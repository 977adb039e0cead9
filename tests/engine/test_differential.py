"""Differential test: our rules engine (``entitlements.engine``) against Schematic's own WASM engine.

Both engines get the same random scenario (``strategies.scenario_at``) and the same pinned clock: the WASM has no
clock of its own (the SDK hands it ``time.time()`` through ``setCurrentTimeMillis`` before every check), so passing
one drawn instant to both makes reset times agree exactly, covers month ends / leap days / week starts, and makes every
failure replayable. They must agree on every field of ``COMPARED_FIELDS``; when the WASM refuses a check
(``WasmEngineError``) ours must raise ``EngineError`` (``DocumentError`` is a subclass).

``ENGINE_DIFFERENTIAL_EXAMPLES=20000 pytest tests/engine/test_differential.py`` runs a longer search locally.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("wasmtime")
pytest.importorskip("schematic.datastream.rules_engine")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, event, given, settings
from hypothesis.control import currently_in_test_context

from tests.engine.strategies import Scenario, scenario_at
from tests.engine.wasm import WasmEngineError, normalise_result, wasm_evaluate

# What must be identical. The first ten are what the SDK and the REST response surface as the verdict; the rest are
# echoed ids, the company entitlement (check_flag_with_entitlement) and the spend policy that blocked a draw.
COMPARED_FIELDS = (
    "value",
    "rule_type",
    "rule_id",
    "reason",
    "feature_usage",
    "feature_allocation",
    "feature_usage_event",
    "feature_usage_period",
    "feature_usage_reset_at",
    "err",
    "flag_key",
    "flag_id",
    "company_id",
    "user_id",
    "entitlement",
    "credit_spend_policy",
)
MAX_EXAMPLES = int(os.environ.get("ENGINE_DIFFERENTIAL_EXAMPLES", "2000"))

Evaluator = Callable[
    [dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None, datetime], Any
]


class OurEngineRefused(Exception):
    """Our engine raised its ``EngineError`` (the counterpart of a WASM error)."""


def _evaluate_ours(
    flag: dict[str, Any],
    company: dict[str, Any] | None,
    user: dict[str, Any] | None,
    options: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """Our engine on wire documents; ``EngineError`` → ``OurEngineRefused``, anything else propagates."""
    engine: Any = importlib.import_module("entitlements.engine")  # untyped on purpose: it is written concurrently
    try:
        result = engine.evaluate(
            engine.prepare_flag(flag),
            engine.prepare_company(company) if company else None,
            engine.prepare_user(user) if user else None,
            engine.prepare_options(options),
            now=now,
            trace=False,
        )
    except engine.EngineError as exc:
        raise OurEngineRefused(f"{type(exc).__name__}: {exc}") from exc
    wire: dict[str, Any] = result.to_wire()
    return wire


def _canonical(value: Any) -> Any:
    """Nested dicts without ``None`` entries (absent and null are the same on the wire)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """The compared fields of a result, timestamps in one RFC 3339 ``Z`` form, nulls inside objects dropped."""
    normalised = normalise_result(result)
    return {field: _canonical(normalised.get(field)) for field in COMPARED_FIELDS}


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str, ensure_ascii=False)


def _report(now: datetime, sample: Scenario, wasm: Any, ours: Any, detail: str) -> str:
    flag, company, user, options = sample
    scenario_json = json.dumps(
        {"now": now.isoformat(), "flag": flag, "company": company, "user": user, "options": options},
        ensure_ascii=False,
    )
    return (
        f"engines disagree: {detail}\n"
        f"--- WASM (Schematic) result:\n{_dump(wasm)}\n"
        f"--- our result:\n{_dump(ours)}\n"
        f"--- scenario (now={now.isoformat()}):\n{scenario_json}"
    )


def _event(label: str) -> None:
    """Tally outcomes for ``--hypothesis-show-statistics``; a no-op when replaying a scenario outside hypothesis."""
    if currently_in_test_context():
        event(label)


def assert_engines_agree(now: datetime, sample: Scenario, ours: Evaluator) -> None:
    """Run both engines on one scenario and fail with both results and the scenario when they differ."""
    flag, company, user, options = sample
    try:
        wasm: dict[str, Any] | None = wasm_evaluate(
            copy.deepcopy(flag), copy.deepcopy(company), copy.deepcopy(user), copy.deepcopy(options), now=now
        )
        wasm_error = None
    except WasmEngineError as exc:
        wasm, wasm_error = None, f"{type(exc).__name__}: {exc}"
    try:
        mine: dict[str, Any] | None = ours(
            copy.deepcopy(flag), copy.deepcopy(company), copy.deepcopy(user), copy.deepcopy(options), now
        )
        our_error = None
    except OurEngineRefused as exc:
        mine, our_error = None, str(exc)

    # ``raise AssertionError`` rather than ``assert``: pytest's rewriting would re-indent the JSON in the message.
    if wasm_error is not None or our_error is not None:
        _event("outcome: engine error")
        if wasm_error is None or our_error is None:
            raise AssertionError(
                _report(
                    now,
                    sample,
                    wasm if wasm_error is None else {"ERROR": wasm_error},
                    mine if our_error is None else {"ERROR": our_error},
                    "one engine refused the check, the other answered",
                )
            )
        return

    assert wasm is not None and mine is not None
    _event(f"outcome: {wasm.get('rule_type')} → {wasm.get('value')}")
    expected, actual = comparable(wasm), comparable(mine)
    differing = [field for field in COMPARED_FIELDS if expected[field] != actual[field]]
    if differing:
        raise AssertionError(_report(now, sample, wasm, mine, f"fields {differing}"))


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario_at())
def _differential(sample: tuple[datetime, Scenario]) -> None:
    now, documents = sample
    assert_engines_agree(now, documents, _evaluate_ours)


def test_differential__random_scenarios__our_engine_agrees_with_wasm():
    engine = pytest.importorskip("entitlements.engine")
    if not all(hasattr(engine, name) for name in ("evaluate", "prepare_flag", "EngineError")):
        pytest.skip("entitlements.engine does not export evaluate/prepare_*/EngineError yet")
    _differential()


def _flipped_wasm(
    flag: dict[str, Any],
    company: dict[str, Any] | None,
    user: dict[str, Any] | None,
    options: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """A deliberately wrong "engine": the WASM's own answer with ``value`` flipped."""
    try:
        result = wasm_evaluate(flag, company, user, options, now=now)
    except WasmEngineError as exc:
        raise OurEngineRefused(str(exc)) from exc
    return {**result, "value": not result["value"]}


def test_differential__engines_disagree__fails_with_both_results(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_evaluate_ours", _flipped_wasm)
    with pytest.raises(AssertionError) as failure:
        _differential()
    message = str(failure.value)
    assert "engines disagree: fields ['value']" in message
    assert "--- WASM (Schematic) result:" in message
    assert "--- our result:" in message
    assert '"flag": {' in message
    wasm_part = message.split("--- WASM (Schematic) result:\n", 1)[1].split("\n--- our result:", 1)[0]
    ours_part = message.split("--- our result:\n", 1)[1].split("\n--- scenario", 1)[0]
    assert json.loads(wasm_part)["value"] is not json.loads(ours_part)["value"]


def test_differential__same_engine__agrees():
    """The harness itself: the WASM compared with itself passes (timestamps and nulls normalised)."""

    def wasm_as_ours(flag, company, user, options, now):
        try:
            return wasm_evaluate(flag, company, user, options, now=now)
        except WasmEngineError as exc:
            raise OurEngineRefused(str(exc)) from exc

    @settings(max_examples=50, deadline=None, database=None)
    @given(scenario_at())
    def check(sample):
        assert_engines_agree(sample[0], sample[1], wasm_as_ours)

    check()

"""Drive Schematic's own rules engine (the WASM bundled in ``schematichq==1.4.6``) synchronously from tests.

This reproduces, step by step, what the SDK does on a datastream flag check
(``DataStreamClient._evaluate_flag`` → ``RulesEngineClient.check_flag``):

1. every document goes through the SDK's datastream validation (``_validate``: Go-style ``null`` lists → ``[]``,
   then the Fern pydantic model ``RulesengineFlag`` / ``RulesengineCompany`` / ``RulesengineUser``);
2. the models are dumped back with ``model_dump(exclude_none=True, mode="json")`` + ``_strip_none`` into the
   envelope ``{"flag", "company", "user"[, "options"]}``; ``options`` is the SDK's ``_engine_options`` of a
   ``CheckFlagOptions`` (quantities rounded up, unset fields dropped, the key left out when empty);
3. the JSON is copied into WASM memory (``alloc``), the host clock is handed to the engine with
   ``setCurrentTimeMillis`` (the WASM has no clock of its own: this is the only source of "now", used for
   ``feature_usage_reset_at``), ``checkFlagCombined(ptr, len)`` runs; a negative return is an engine error;
4. the camelCase result is converted to snake_case and parsed as ``RulesengineCheckFlagResult``.

The one deliberate difference: the SDK always passes ``time.time()``; here ``now`` can be given so a test can
pin the clock (the golden cases were recorded at 2026-11-21T07:49:52Z) and two engines can share one instant.

The result is returned as ``RulesengineCheckFlagResult.model_dump(mode="json")`` — the exact shape of the golden
``output`` objects in ``engine-cases.json``. Pydantic serialises UTC datetimes as ``...Z`` while the raw engine
emits ``...+00:00``; :func:`normalise_timestamp` maps both to one RFC 3339 ``Z`` string.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pydantic
from schematic.client import CheckFlagOptions, EventUsage
from schematic.datastream.datastream_client import _validate
from schematic.datastream.rules_engine import RulesEngineClient, _deep_camel_to_snake, _engine_options, _strip_none
from schematic.types.rulesengine_check_flag_result import RulesengineCheckFlagResult
from schematic.types.rulesengine_company import RulesengineCompany
from schematic.types.rulesengine_flag import RulesengineFlag
from schematic.types.rulesengine_user import RulesengineUser

__all__ = [
    "WasmDocumentError",
    "WasmEngineError",
    "engine_version_key",
    "normalise_result",
    "normalise_timestamp",
    "sdk_validate",
    "wasm_evaluate",
]


class WasmEngineError(Exception):
    """The check failed inside the engine (the SDK raises ``RulesEngineError`` and falls back to REST)."""


class WasmDocumentError(WasmEngineError):
    """The SDK's pydantic models reject a document (a datastream message the SDK would drop)."""


_lock = threading.Lock()
_client: RulesEngineClient | None = None


def _engine() -> RulesEngineClient:
    """The process-wide engine, instantiated on first use (about 0.3 s: wasmtime compiles the module)."""
    global _client
    with _lock:
        if _client is None:
            client = RulesEngineClient()
            # ``initialize`` is ``async`` only by signature: it awaits nothing, so one event loop run is enough.
            asyncio.run(client.initialize())
            _client = client
        return _client


def engine_version_key() -> str:
    """The WASM's version key (``fde6dba2`` for WASM 0.7.0 in schematichq 1.4.6)."""
    return str(_engine().get_version_key())


def sdk_validate(
    flag: dict[str, Any], company: dict[str, Any] | None = None, user: dict[str, Any] | None = None
) -> tuple[RulesengineFlag, RulesengineCompany | None, RulesengineUser | None]:
    """Validate wire documents exactly as the SDK validates datastream payloads; raise ``WasmDocumentError``."""
    try:
        return (
            _validate(RulesengineFlag, flag),
            _validate(RulesengineCompany, company) if company is not None else None,
            _validate(RulesengineUser, user) if user is not None else None,
        )
    except pydantic.ValidationError as exc:
        raise WasmDocumentError(f"SDK model validation failed: {exc}") from exc


def _check_flag_options(options: dict[str, Any] | None) -> CheckFlagOptions | None:
    """A wire preflight ``{usage, event_usage: {event_subtype, quantity}, credit_cost}`` as the SDK's options."""
    if options is None:
        return None
    event_usage = options.get("event_usage")
    return CheckFlagOptions(
        usage=options.get("usage"),
        event_usage=(
            EventUsage(event_subtype=event_usage["event_subtype"], quantity=event_usage["quantity"])
            if event_usage is not None
            else None
        ),
        credit_cost=options.get("credit_cost"),
    )


def _envelope(
    flag: RulesengineFlag,
    company: RulesengineCompany | None,
    user: RulesengineUser | None,
    options: dict[str, Any] | None,
) -> str:
    """The JSON handed to ``checkFlagCombined``; mirrors ``RulesEngineClient.check_flag`` line for line."""
    envelope: dict[str, Any] = {
        "flag": _strip_none(flag.model_dump(exclude_none=True, mode="json")),
        "company": _strip_none(company.model_dump(exclude_none=True, mode="json")) if company else None,
        "user": _strip_none(user.model_dump(exclude_none=True, mode="json")) if user else None,
    }
    check_options = _check_flag_options(options)
    if check_options is not None:
        engine_options = _engine_options(check_options)
        if engine_options:
            envelope["options"] = engine_options
    return json.dumps(envelope)


def _call(client: RulesEngineClient, input_json: str, now_ms: int) -> str:
    """``RulesEngineClient._call_wasm`` with the clock supplied by the caller instead of ``time.time()``."""
    data = input_json.encode("utf-8")
    store = client._store
    ptr = client._alloc_fn(store, len(data))
    try:
        client._memory.write(store, data, ptr)
        if client._set_time_fn is not None:
            client._set_time_fn(store, now_ms)
        result_len = client._check_flag_fn(store, ptr, len(data))
        if result_len < 0:
            raise WasmEngineError("WASM checkFlagCombined returned error code")
    finally:
        client._dealloc_fn(store, ptr, len(data))
    result_ptr = client._get_result_json_fn(store)
    actual_len = client._get_result_json_length_fn(store)
    return bytes(client._memory.read(store, result_ptr, result_ptr + actual_len)).decode("utf-8")


def wasm_evaluate(
    flag: dict[str, Any],
    company: dict[str, Any] | None,
    user: dict[str, Any] | None,
    options: dict[str, Any] | None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Evaluate one flag check with Schematic's WASM engine; the result as a snake_case wire dict.

    ``now`` (aware datetime) pins the engine's clock; by default the wall clock is used, like the SDK.
    Raises ``WasmDocumentError`` if the SDK models reject a document, ``WasmEngineError`` if the engine fails.
    """
    client = _engine()
    flag_model, company_model, user_model = sdk_validate(flag, company, user)
    input_json = _envelope(flag_model, company_model, user_model, options)
    now_ms = int(time.time() * 1000) if now is None else int(now.timestamp() * 1000)
    with _lock:  # a wasmtime Store is not thread-safe
        raw = _call(client, input_json, now_ms)
    try:
        result = RulesengineCheckFlagResult(**_deep_camel_to_snake(json.loads(raw)))
    except (ValueError, pydantic.ValidationError) as exc:  # the SDK would raise RulesEngineError here too
        raise WasmEngineError(f"unparseable engine result {raw!r}: {exc}") from exc
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped


def normalise_timestamp(value: Any) -> Any:
    """An RFC 3339 timestamp (``Z``, ``+00:00`` or another offset) as one canonical UTC ``...Z`` string.

    Non-strings (``None``) and unparseable strings are returned unchanged.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return value
    else:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    text = parsed.strftime("%Y-%m-%dT%H:%M:%S")
    if parsed.microsecond:
        text += f".{parsed.microsecond:06d}".rstrip("0")
    return text + "Z"


_TIMESTAMP_KEYS = frozenset({"feature_usage_reset_at", "metric_reset_at", "resets_at"})


def normalise_result(result: dict[str, Any]) -> dict[str, Any]:
    """A result dict with every known timestamp field (also inside ``entitlement`` etc.) made canonical."""

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        if key in _TIMESTAMP_KEYS:
            return normalise_timestamp(node)
        return node

    normalised: dict[str, Any] = walk(result)
    return normalised

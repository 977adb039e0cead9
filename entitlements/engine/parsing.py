"""Typed field readers for wire documents, raising ``DocumentError`` with the JSON path of the offending field.

JSON types are taken as the engine's deserialiser takes them: an integer field wants a JSON integer (``5.0`` and ``"5"``
are refused), a float field a JSON number, a string field a JSON string; ``true``/``false`` are never numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar, overload

from entitlements.engine.errors import DocumentError
from entitlements.engine.model import METRIC_PERIODS, MONTH_RESETS, SpendPolicy, Text
from entitlements.engine.values import parse_bool, parse_date_ns, parse_int, parse_number

T = TypeVar("T", str, int, float, bool)

_MISSING = object()
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
_VALUE_TYPES = frozenset({"boolean", "credit", "numeric", "trait", "unknown", "unlimited"})
_SPEND_SCOPES = frozenset({"company", "user", "group"})
_ENTITLEMENT_INTS = ("allocation", "soft_limit", "usage")
_ENTITLEMENT_STRS = ("event_name", "event_subtype")
_ENTITLEMENT_FLOATS = ("credit_total", "credit_used", "credit_remaining", "credit_reserved", "credit_settled")


def _typed(value: Any, kind: type[T], path: str) -> T:
    """``value`` checked against ``kind``; an int is accepted (and converted) where a float is wanted."""
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # type: ignore[return-value]
    elif isinstance(value, kind):
        return value
    raise DocumentError(path, f"must be {_TYPE_NAMES[kind]}, got {type(value).__name__}")


def required_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise DocumentError(path, f"must be an object, got {type(value).__name__}")
    return value


def field(document: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING) -> Any:
    """``document[key]``; a missing key or ``null`` gives ``default`` when one is given, else ``DocumentError``."""
    value = document.get(key)
    if value is None:
        if default is _MISSING:
            raise DocumentError(f"{path}.{key}", "is required")
        return default
    return value


def required_str(document: Mapping[str, Any], key: str, path: str) -> str:
    """A required JSON string."""
    return _typed(field(document, key, path), str, f"{path}.{key}")


def required_bool(document: Mapping[str, Any], key: str, path: str) -> bool:
    """A required JSON boolean."""
    return _typed(field(document, key, path), bool, f"{path}.{key}")


def required_int(document: Mapping[str, Any], key: str, path: str) -> int:
    """A required JSON integer."""
    return _typed(field(document, key, path), int, f"{path}.{key}")


def required_float(document: Mapping[str, Any], key: str, path: str) -> float:
    """A required JSON number, as a float."""
    return _typed(field(document, key, path), float, f"{path}.{key}")


@overload
def optional(document: Mapping[str, Any], key: str, path: str, kind: type[str]) -> str | None: ...
@overload
def optional(document: Mapping[str, Any], key: str, path: str, kind: type[int]) -> int | None: ...
@overload
def optional(document: Mapping[str, Any], key: str, path: str, kind: type[float]) -> float | None: ...
def optional(document: Mapping[str, Any], key: str, path: str, kind: type[Any]) -> Any:
    """An optional field of JSON type ``kind``; ``None`` when missing or null."""
    value = document.get(key)
    return None if value is None else _typed(value, kind, f"{path}.{key}")


def list_of(document: Mapping[str, Any], key: str, path: str, kind: type[Any] | None = None) -> list[Any]:
    """A list field (missing or null → empty), each item checked against ``kind`` when given."""
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DocumentError(f"{path}.{key}", f"must be a list, got {type(value).__name__}")
    if kind is not None:
        for index, item in enumerate(value):
            _typed(item, kind, f"{path}.{key}[{index}]")
    return value


def string_map(value: Any, path: str) -> dict[str, str]:
    """A JSON object of strings."""
    return {name: _typed(item, str, f"{path}.{name}") for name, item in required_mapping(value, path).items()}


def float_map(value: Any, path: str) -> dict[str, float]:
    """A JSON object of numbers, as floats."""
    return {name: _typed(item, float, f"{path}.{name}") for name, item in required_mapping(value, path).items()}


def text(raw: str) -> Text:
    """A trait string with its reading for every comparable type."""
    int_value = parse_int(raw)
    return Text(raw, parse_number(raw), int_value, int_value or 0, parse_bool(raw), parse_date_ns(raw))


def spend_policies(document: Mapping[str, Any], path: str) -> tuple[SpendPolicy, ...]:
    """``credit_spend_policies``; an unknown ``scope`` is kept as ``Unknown`` (the engine's own reading)."""
    policies: list[SpendPolicy] = []
    for index, item in enumerate(list_of(document, "credit_spend_policies", path)):
        item_path = f"{path}.credit_spend_policies[{index}]"
        policy = required_mapping(item, item_path)
        scope = required_str(policy, "scope", item_path)
        window = policy.get("window")
        window_count: int | None = None
        window_unit: str | None = None
        if window is not None:
            window_document = required_mapping(window, f"{item_path}.window")
            window_count = required_int(window_document, "count", f"{item_path}.window")
            window_unit = required_str(window_document, "unit", f"{item_path}.window")
        policies.append(
            SpendPolicy(
                id=required_str(policy, "id", item_path),
                credit_id=required_str(policy, "credit_id", item_path),
                kind=required_str(policy, "kind", item_path),
                scope=scope if scope in _SPEND_SCOPES else "Unknown",
                limit=required_float(policy, "limit", item_path),
                consumed=optional(policy, "consumed", item_path, float) or 0.0,
                window_count=window_count,
                window_unit=window_unit,
                company_id=optional(policy, "company_id", item_path, str),
                label=optional(policy, "label", item_path, str),
                resets_at=optional(policy, "resets_at", item_path, str),
            )
        )
    return tuple(policies)


def _entitlement(value: Any, path: str) -> dict[str, Any]:
    """One FeatureEntitlement (§4.9) as the engine echoes it: known fields only, nulls dropped, credits as floats."""
    document = required_mapping(value, path)
    echo: dict[str, Any] = {
        "feature_id": required_str(document, "feature_id", path),
        "feature_key": required_str(document, "feature_key", path),
        "value_type": required_str(document, "value_type", path),
    }
    if echo["value_type"] not in _VALUE_TYPES:
        raise DocumentError(f"{path}.value_type", f"unknown value type {echo['value_type']!r}")
    for name in _ENTITLEMENT_INTS:
        echo[name] = optional(document, name, path, int)
    for name in _ENTITLEMENT_STRS:
        echo[name] = optional(document, name, path, str)
    echo["metric_period"] = optional(document, "metric_period", path, str)
    echo["month_reset"] = optional(document, "month_reset", path, str)
    if echo["metric_period"] is not None and echo["metric_period"] not in METRIC_PERIODS:
        raise DocumentError(f"{path}.metric_period", f"unknown metric period {echo['metric_period']!r}")
    if echo["month_reset"] is not None and echo["month_reset"] not in MONTH_RESETS:
        raise DocumentError(f"{path}.month_reset", f"unknown month reset {echo['month_reset']!r}")
    echo["metric_reset_at"] = optional(document, "metric_reset_at", path, str)
    echo["credit_id"] = optional(document, "credit_id", path, str)
    for name in _ENTITLEMENT_FLOATS:
        echo[name] = optional(document, name, path, float)
    echo["consumption_rate"] = optional(document, "consumption_rate", path, float)
    rates = document.get("quantity_rates")
    echo["quantity_rates"] = None if rates is None else float_map(rates, f"{path}.quantity_rates")
    tiers = []
    for index, tier in enumerate(list_of(document, "warning_tiers", path)):
        tier_path = f"{path}.warning_tiers[{index}]"
        tier_document = required_mapping(tier, tier_path)
        tiers.append(
            {
                "key": required_str(tier_document, "key", tier_path),
                "value": required_int(tier_document, "value", tier_path),
            }
        )
    echo["warning_tiers"] = tiers if document.get("warning_tiers") is not None else None
    return {name: item for name, item in echo.items() if item is not None}


def entitlement_echo(document: Mapping[str, Any], path: str) -> dict[str, Mapping[str, Any]]:
    """The company's entitlements by ``feature_key`` (the first of duplicates wins), in their echoed form (read-only
    views: results share them)."""
    by_key: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(list_of(document, "entitlements", path)):
        echo = _entitlement(item, f"{path}.entitlements[{index}]")
        by_key.setdefault(echo["feature_key"], MappingProxyType(echo))
    return by_key

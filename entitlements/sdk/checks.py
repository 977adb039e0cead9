"""SDK checks (PROTOCOL.md §2.2–2.3): resolve the company and user by key, evaluate, and shape the answer.

A read path: on a warm cache it costs one cache round trip and no database query
(``entitlements.documents.resolution``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationFailed
from entitlements import engine
from entitlements.documents.cache import Documents
from entitlements.documents.resolution import Resolution

UNKNOWN_COMPANY_REASON = "Company not found"


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """A parsed check body: the key maps (``None`` when not given) and the preflight options."""

    company_keys: dict[str, str] | None
    user_keys: dict[str, str] | None
    options: engine.Options | None


def _keys(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationFailed("Must be an object of key name → string value.", field=field)
    for name, key_value in value.items():
        if not isinstance(key_value, str):
            raise ValidationFailed(
                f"Key values must be strings, not {type(key_value).__name__}.", field=f"{field}.{name}"
            )
    return dict(value) or None


def check_request_parse(body: Any) -> CheckRequest:
    """Validate a check body; ``ValidationFailed`` naming the field when it is malformed."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("The body must be a JSON object.", field="body")
    preflight = body.get("preflight")
    if preflight is not None and not isinstance(preflight, Mapping):
        raise ValidationFailed("Must be an object.", field="preflight")
    try:
        options = engine.prepare_options(dict(preflight)) if preflight else None
    except engine.DocumentError as error:
        raise ValidationFailed(str(error), field="preflight") from error
    return CheckRequest(_keys(body.get("company"), "company"), _keys(body.get("user"), "user"), options)


def _response_data(result: engine.CheckResult, *, company_missing: bool) -> dict[str, Any]:
    wire = result.to_wire()
    reason = wire["reason"]
    if company_missing and wire.get("rule_id") is None:
        # Evaluated with no company: the default answered, and the reason says why (as Schematic's API does).
        reason = UNKNOWN_COMPANY_REASON
    return {
        "flag": wire["flag_key"],
        "value": wire["value"],
        "reason": reason,
        "flag_id": wire.get("flag_id"),
        "company_id": wire.get("company_id"),
        "user_id": wire.get("user_id"),
        "rule_id": wire.get("rule_id"),
        "rule_type": wire.get("rule_type"),
        "error": wire.get("err"),
        "entitlement": wire.get("entitlement"),
        "feature_allocation": wire.get("feature_allocation"),
        "feature_usage": wire.get("feature_usage"),
        "feature_usage_event": wire.get("feature_usage_event"),
        "feature_usage_period": wire.get("feature_usage_period"),
        "feature_usage_reset_at": wire.get("feature_usage_reset_at"),
    }


def _evaluate(flag: engine.Flag, documents: Documents, request: CheckRequest, now: dt.datetime) -> engine.CheckResult:
    return engine.evaluate(
        flag,
        documents.company.company if documents.company else None,
        documents.user.user if documents.user else None,
        request.options,
        now=now,
    )


def flag_check(
    *, flag_key: str, request: CheckRequest, resolution: Resolution, now: dt.datetime
) -> dict[str, Any] | None:
    """The ``data`` of a single check; ``None`` when no flag has this key (compared ignoring case)."""
    documents = resolution.documents
    assert documents is not None, "resolve an authenticated request first"
    flag = documents.flags.by_key.get(flag_key.lower())
    if flag is None:
        return None
    return _response_data(_evaluate(flag, documents, request, now), company_missing=resolution.company_missing)


def flags_check(*, request: CheckRequest, resolution: Resolution, now: dt.datetime) -> dict[str, Any]:
    """The ``data`` of a bulk check: every flag, the credit balances and spend policies, and the plan."""
    documents = resolution.documents
    assert documents is not None, "resolve an authenticated request first"
    flags = [
        _response_data(_evaluate(flag, documents, request, now), company_missing=resolution.company_missing)
        for flag in documents.flags.by_key.values()
    ]
    data: dict[str, Any] = {"flags": flags, "credit_spend_policies": []}
    if documents.company is not None:
        data["credit_balances"] = {}
        data["plan"] = documents.company.plan
    return data

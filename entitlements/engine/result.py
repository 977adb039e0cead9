"""The outcome of one check (PROTOCOL.md §4.11), as returned by ``evaluate``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from entitlements.engine.model import SpendPolicy
from entitlements.engine.wire import rfc3339_with_fraction, spend_policy_to_wire

if TYPE_CHECKING:
    from entitlements.engine.trace import TraceStep

NO_RULES_MATCHED = "No rules matched; default value for flag"


@dataclass(frozen=True, slots=True)
class SpendPolicyBlock:
    """The spend policy that refused a draw, reported when it left the flag at a ``false`` default (§5.2.7)."""

    cost: float
    policy: SpendPolicy


@dataclass(slots=True)
class CheckResult:
    """A flag decision. ``entitlement`` is the company's echoed FeatureEntitlement (shared: treat as read-only);
    ``feature_*`` are filled when an entitlement/override rule with a metric or trait condition won; ``trace`` is only
    built when asked for."""

    value: bool
    reason: str
    flag_key: str
    flag_id: str
    company_id: str | None
    user_id: str | None
    rule_id: str | None = None
    rule_type: str | None = None
    entitlement: Mapping[str, Any] | None = None
    feature_allocation: int | None = None
    feature_usage: int | None = None
    feature_usage_event: str | None = None
    feature_usage_period: str | None = None
    feature_usage_reset_at: dt.datetime | None = None
    err: str | None = None
    credit_spend_policy: SpendPolicyBlock | None = None
    trace: tuple[TraceStep, ...] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The result as the SDK's ``RulesengineCheckFlagResult`` JSON (snake_case; ``err`` and
        ``credit_spend_policy`` only when set); a fresh dict the caller may change."""
        return _result_to_wire(self)


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _result_to_wire(result: CheckResult) -> dict[str, Any]:
    """See ``CheckResult.to_wire``."""
    reset_at = result.feature_usage_reset_at
    wire: dict[str, Any] = {
        "value": result.value,
        "reason": result.reason,
        "flag_key": result.flag_key,
        "flag_id": result.flag_id,
        "company_id": result.company_id,
        "user_id": result.user_id,
        "rule_id": result.rule_id,
        "rule_type": result.rule_type,
        "entitlement": None if result.entitlement is None else _copy(dict(result.entitlement)),
        "feature_allocation": result.feature_allocation,
        "feature_usage": result.feature_usage,
        "feature_usage_event": result.feature_usage_event,
        "feature_usage_period": result.feature_usage_period,
        "feature_usage_reset_at": None if reset_at is None else rfc3339_with_fraction(reset_at),
    }
    if result.err is not None:
        wire["err"] = result.err
    block = result.credit_spend_policy
    if block is not None:
        wire["credit_spend_policy"] = {"cost": block.cost, "policy": spend_policy_to_wire(block.policy)}
    return wire

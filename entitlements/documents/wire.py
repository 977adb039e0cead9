"""The pieces every compiled document shares: ids, timestamps and the envelope fields of the rules-engine format
(PROTOCOL.md §4). Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

ACCOUNT_ID = "acct_self_hosted"
ENVIRONMENT_ID = "env_default"


def rfc3339_seconds(moment: dt.datetime) -> str:
    """``2025-01-31T00:00:00Z``: the only timestamp form the engine's billing-cycle maths accepts."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flag_id_for(feature_public_id: str) -> str:
    """The flag id of a feature (``feat_X`` → ``flag_X``)."""
    return "flag_" + feature_public_id.split("_", 1)[1]


def scoped(**fields: Any) -> dict[str, Any]:
    """``fields`` with the account and environment every document carries."""
    return {**fields, "account_id": ACCOUNT_ID, "environment_id": ENVIRONMENT_ID}


def rule_wire(
    *, rule_id: str, flag_id: str, rule_type: str, name: str, value: bool, conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    """A rule of a flag or company document."""
    return scoped(
        id=rule_id,
        flag_id=flag_id,
        rule_type=rule_type,
        name=name,
        priority=0,
        value=value,
        conditions=conditions,
        condition_groups=[],
    )

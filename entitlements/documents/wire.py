"""The pieces every compiled document shares: ids, timestamps, the envelope fields of the rules-engine format
(PROTOCOL.md §4) and the collections the SDKs require in it (``collections_filled``). Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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


# --- The collections every document must carry ------------------------------------------------------------------
#
# The Node SDK validates datastream documents strictly: a ``null`` where its schema wants a list (or a required
# object) drops the whole document ("Expected list. Received null"), and its check then waits 30 s before falling
# back to REST. The Python SDK coerces such nulls to ``[]`` itself (Go's habit). Documents are sent with ``[]``/``{}``
# there, whatever produced them.


@dataclass(frozen=True, slots=True)
class WireShape:
    """Where a kind of document keeps its collections: ``lists`` and ``objects`` must be present (``[]``/``{}`` when
    empty), ``optional_lists`` may be absent but never ``null``; ``items`` gives the shape of each item of a list."""

    lists: tuple[str, ...] = ()
    optional_lists: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    items: tuple[tuple[str, WireShape], ...] = ()


CONDITION_SHAPE = WireShape(lists=("resource_ids",))
CONDITION_GROUP_SHAPE = WireShape(lists=("conditions",), items=(("conditions", CONDITION_SHAPE),))
RULE_SHAPE = WireShape(
    lists=("conditions", "condition_groups"),
    items=(("conditions", CONDITION_SHAPE), ("condition_groups", CONDITION_GROUP_SHAPE)),
)
FLAG_SHAPE = WireShape(lists=("rules",), items=(("rules", RULE_SHAPE),))
COMPANY_SHAPE = WireShape(
    lists=("plan_ids", "plan_version_ids", "billing_product_ids", "metrics", "traits", "rules"),
    optional_lists=("entitlements", "credit_spend_policies"),
    objects=("keys", "credit_balances"),
    items=(("rules", RULE_SHAPE),),
)
USER_SHAPE = WireShape(
    lists=("rules", "traits"),
    optional_lists=("credit_spend_policies",),
    objects=("keys",),
    items=(("rules", RULE_SHAPE),),
)


def collections_filled(document: dict[str, Any], shape: WireShape) -> dict[str, Any]:
    """``document`` with every collection ``shape`` names present and never ``null`` (``[]``, ``{}``), down through
    its rules and conditions. Copy on write: the very same object when nothing was missing, so cached documents are
    never changed and the common case allocates nothing."""
    fixed: dict[str, Any] | None = None
    for name in shape.lists:
        if document.get(name) is None:
            fixed = fixed if fixed is not None else dict(document)
            fixed[name] = []
    for name in shape.optional_lists:
        if name in document and document[name] is None:
            fixed = fixed if fixed is not None else dict(document)
            fixed[name] = []
    for name in shape.objects:
        if document.get(name) is None:
            fixed = fixed if fixed is not None else dict(document)
            fixed[name] = {}
    source = fixed if fixed is not None else document
    for name, item_shape in shape.items:
        items = source.get(name)
        if not isinstance(items, list):
            continue
        filled: list[Any] | None = None
        for index, item in enumerate(items):
            new = collections_filled(item, item_shape) if isinstance(item, dict) else item
            if new is not item and filled is None:
                filled = list(items)
            if filled is not None:
                filled[index] = new
        if filled is not None:
            fixed = fixed if fixed is not None else dict(document)
            fixed[name] = filled
    return fixed if fixed is not None else document

"""The one bridge from ORM rows to rules-engine documents (PROTOCOL.md §4), in the wire format the SDKs validate.

* one **Flag** per feature: default ``false``; a kill switch becomes a ``global_override`` rule;
* one **Company** document per company: fetched as a snapshot (``entitlements.documents.snapshot``, the queries),
  built by a pure function of it (``entitlements.documents.company_build``);
* one **User** document per user.

Compilation is a pure read; callers cache the result under version tokens (``entitlements.documents.cache``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch

from catalog.models import Feature
from entitlements.documents.company_build import (
    CompiledDocument,
    company_document_build,
    traits_wire,
)
from entitlements.documents.snapshot import company_snapshot_fetch, company_snapshots_fetch, trait_facts
from entitlements.documents.wire import flag_id_for, rule_wire, scoped
from entitlements.models import User, UserTrait

__all__ = ["CompiledDocument", "company_document_compile", "flag_document", "flags_compile", "user_document_compile"]


def flag_document(feature: Feature) -> dict[str, Any]:
    """The Flag document of one feature."""
    flag_id = flag_id_for(feature.public_id)
    rules = []
    if feature.forced_value is not None:
        state = "on" if feature.forced_value else "off"
        rules.append(
            rule_wire(
                rule_id="rule_kill_" + feature.public_id.split("_", 1)[1],
                flag_id=flag_id,
                rule_type="global_override",
                name=f"Kill switch: {feature.name} forced {state}",
                value=feature.forced_value,
                conditions=[],
            )
        )
    return scoped(id=flag_id, key=feature.key, default_value=False, rules=rules)


def flags_compile() -> list[dict[str, Any]]:
    """Every feature's Flag document, ordered by key."""
    return [flag_document(feature) for feature in Feature.objects.order_by("key")]


def company_document_compile(*, company_id: int, now: dt.datetime) -> CompiledDocument | None:
    """The Company document as of ``now``; ``None`` if the company does not exist."""
    snapshot = company_snapshot_fetch(company_id=company_id, now=now)
    return company_document_build(snapshot, now=now) if snapshot is not None else None


def company_documents_compile(*, company_ids: Sequence[int], now: dt.datetime) -> dict[int, CompiledDocument]:
    """``company_document_compile`` of each of these companies (absent: no such company), in one round of reads."""
    snapshots = company_snapshots_fetch(company_ids=company_ids, now=now)
    return {company_id: company_document_build(snapshot, now=now) for company_id, snapshot in snapshots.items()}


def user_document_compile(*, user_id: int) -> dict[str, Any] | None:
    """The User document; ``None`` if the user does not exist."""
    user = (
        User.objects.filter(pk=user_id)
        .prefetch_related("keys", Prefetch("traits", queryset=UserTrait.objects.select_related("definition")))
        .first()
    )
    if user is None:
        return None
    return scoped(
        id=user.public_id,
        keys={key.name: key.value for key in user.keys.all()},
        traits=traits_wire(tuple(trait_facts(trait) for trait in user.traits.all())),
        rules=[],
    )

"""What a company may do, feature by feature, and why: the read model behind the entitlement board and "explain".

Reads the same compiled documents and runs the same engine as the SDK checks, so what staff see is exactly what the
next check answers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.models import Feature, Plan
from entitlements import engine
from entitlements.board.explain import explanation_lines, summary_line
from entitlements.documents.cache import (
    Documents,
    PreparedCompany,
    company_documents_get_many,
    documents_get,
    flags_get,
)
from entitlements.documents.company_build import company_document_build
from entitlements.documents.snapshot import company_snapshot_fetch, override_grant_facts, plan_grants_for
from entitlements.models import Company, CompanyOverride

_DEFAULT_SOURCE = {"kind": "default", "id": "", "name": "Default (no plan grants it)"}
NEAR_LIMIT_RATIO = 0.8  # from this share of a limit a company is worth an upsell conversation


@dataclass(frozen=True, slots=True)
class FeatureState:
    """One row of the board: the decision, the figures behind it, and where the entitlement comes from."""

    feature: Feature
    value: bool
    value_type: str | None
    allocation: int | None
    usage: int | None
    remaining: int | None
    soft_limit: int | None
    metric_period: str | None
    resets_at: dt.datetime | None
    source: dict[str, str]
    reason: str
    rule_type: str | None
    summary: str
    rule_id: str | None = None

    @property
    def usage_ratio(self) -> float | None:
        """Usage as a share of the allocation (1.0 = the whole allocation); ``None`` without a finite limit."""
        if self.allocation is None or self.usage is None:
            return None
        if self.allocation <= 0:
            return 1.0  # nothing allowed: the limit is reached before the first use
        return self.usage / self.allocation

    @property
    def is_at_limit(self) -> bool:
        """Usage has reached the allocation: the engine refuses the next use (usage must stay *below* the limit)."""
        ratio = self.usage_ratio
        return ratio is not None and ratio >= 1.0

    @property
    def is_near_limit(self) -> bool:
        """At least 80% of a finite allocation is used, but not all of it."""
        ratio = self.usage_ratio
        return ratio is not None and NEAR_LIMIT_RATIO <= ratio < 1.0


def _state(feature: Feature, result: engine.CheckResult, source: dict[str, str], now: dt.datetime) -> FeatureState:
    entitlement: dict[str, Any] = dict(result.entitlement or {})
    allocation = entitlement.get("allocation")
    usage = entitlement.get("usage")
    remaining = max(0, allocation - (usage or 0)) if allocation is not None and usage is not None else None
    reset_text = entitlement.get("metric_reset_at")
    resets_at = dt.datetime.fromisoformat(reset_text.replace("Z", "+00:00")) if reset_text else None
    return FeatureState(
        feature=feature,
        value=result.value,
        value_type=entitlement.get("value_type"),
        allocation=allocation,
        usage=usage,
        remaining=remaining,
        soft_limit=entitlement.get("soft_limit"),
        metric_period=entitlement.get("metric_period"),
        resets_at=resets_at,
        source=source,
        reason=result.reason,
        rule_type=result.rule_type,
        summary=summary_line(feature=feature, result=result, entitlement=entitlement, source=source, now=now),
        rule_id=result.rule_id,
    )


def _board(documents: Documents, features: dict[str, Feature], now: dt.datetime) -> list[FeatureState]:
    prepared = documents.company
    rows = []
    for key, flag in documents.flags.by_key.items():
        feature = features.get(key)
        if feature is None:  # the catalog changed between the two reads; the next read will agree
            continue
        result = engine.evaluate(flag, prepared.company if prepared else None, None, None, now=now)
        source = prepared.compiled.sources.get(feature.key, _DEFAULT_SOURCE) if prepared else _DEFAULT_SOURCE
        rows.append(_state(feature, result, source, now))
    return sorted(rows, key=lambda row: row.feature.key)


def _features_by_key() -> dict[str, Feature]:
    return {feature.key.lower(): feature for feature in Feature.objects.order_by("key")}


def company_entitlement_board(*, company: Company, now: dt.datetime) -> list[FeatureState]:
    """Every feature of the catalog for this company, ordered by key, as the engine decides it now."""
    documents = documents_get(company_id=company.pk, user_id=None, now=now)
    return _board(documents, _features_by_key(), now)


def company_entitlement_boards(*, company_ids: Iterable[int], now: dt.datetime) -> dict[int, list[FeatureState]]:
    """The board of each company (by primary key): one catalog query and, on a warm cache, one round trip for the
    version tokens; the documents not cached are compiled together in one round of reads (thirteen queries,
    whatever their number). For lists."""
    features = _features_by_key()
    documents = company_documents_get_many(company_ids=list(company_ids), now=now)
    return {company_id: _board(documents[company_id], features, now) for company_id in documents}


def company_board_preview(
    *,
    company: Company,
    now: dt.datetime,
    override: CompanyOverride | None = None,
    plans: Sequence[Plan] | None = None,
) -> list[FeatureState]:
    """The board as it would read if ``override`` (unsaved, for one feature) replaced the company's override of that
    feature, and/or ``plans`` (the base plan, then add-ons) replaced its plans — built from a fresh snapshot by the
    same pure build and engine as checks, never written to the cache. Current usage and credits are kept."""
    snapshot = company_snapshot_fetch(company_id=company.pk, now=now)
    if snapshot is None:
        return []
    if plans is not None:
        snapshot = dataclasses.replace(snapshot, plan_grants=plan_grants_for(plans))
    if override is not None:
        kept = tuple(grant for grant in snapshot.overrides if grant.feature.id != override.feature_id)
        snapshot = dataclasses.replace(snapshot, overrides=(*kept, override_grant_facts(override)))
    compiled = company_document_build(snapshot, now=now)
    prepared = PreparedCompany(engine.prepare_company(compiled.document), compiled)
    return _board(Documents(flags=flags_get(), company=prepared, user=None), _features_by_key(), now)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decision for one feature and, in plain words, every rule the engine tried."""

    state: FeatureState
    lines: list[str]
    trace: tuple[engine.TraceStep, ...]
    deciding_rule: engine.TraceStep | None = None  # the rule whose value is the answer; ``None``: the flag default
    deciding_rule_words: str = ""  # that rule in plain words, as the first line of ``lines`` would put it


def company_feature_explain(*, company: Company, feature: Feature, now: dt.datetime) -> Explanation:
    """Why the engine answers as it does for this company and feature right now."""
    documents = documents_get(company_id=company.pk, user_id=None, now=now)
    prepared = documents.company
    flag = documents.flags.by_key[feature.key.lower()]
    result = engine.evaluate(flag, prepared.company if prepared else None, None, None, now=now, trace=True)
    source = prepared.compiled.sources.get(feature.key, _DEFAULT_SOURCE) if prepared else _DEFAULT_SOURCE
    trace = result.trace or ()
    deciding = next((step for step in trace if step.matched and step.rule_id == result.rule_id), None)
    # the deciding rule in the same words as its line in the trace, without the "matched" verdict it always has
    deciding_words = explanation_lines(feature, result, (deciding,))[0].removesuffix(": matched") if deciding else ""
    return Explanation(
        state=_state(feature, result, source, now),
        lines=explanation_lines(feature, result, trace),
        trace=trace,
        deciding_rule=deciding,
        deciding_rule_words=deciding_words,
    )

"""A company document is fetched as a snapshot (a pinned number of queries) and built from it by a pure function:
the build is tested here from plain values, with no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from schematic.types import RulesengineCompany

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements import engine
from entitlements.documents.company_build import (
    CompanySnapshot,
    CreditFacts,
    FeatureFacts,
    FeatureGrant,
    SubscriptionFacts,
    TraitFacts,
    company_document_build,
)
from entitlements.documents.compiler import company_document_compile, flag_document
from entitlements.documents.snapshot import company_snapshot_fetch, company_snapshots_fetch
from entitlements.rules.effective import Grant
from entitlements.sdk.capture import batch_capture
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.subscriptions import subscription_put

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
CALLS = FeatureFacts(id=1, public_id="feat_calls", key="calls", name="Calls", feature_type="event", event_name="call")
SSO = FeatureFacts(id=2, public_id="feat_sso", key="sso", name="SSO", feature_type="boolean")


_NO_LIMIT: dict[str, Any] = {
    "allocation": None,
    "metric_period": None,
    "month_reset": None,
    "trait_key": "",
    "soft_limit": None,
}


def _plan_grant(feature: FeatureFacts, **fields: Any) -> FeatureGrant:
    grant = Grant(
        source_kind="plan",
        source_id="plan_pro",
        source_name="Pro",
        entitlement_id=f"ent_{feature.key}",
        **{"allocation": None, "metric_period": None, "month_reset": None, "trait_key": "", "soft_limit": None}
        | fields,
    )
    return FeatureGrant(feature=feature, grant=grant)


def _override(feature: FeatureFacts, *, expires_at: dt.datetime | None, **fields: Any) -> FeatureGrant:
    grant = Grant(
        source_kind="override",
        source_id="ovr_1",
        source_name="Override by ae",
        entitlement_id="ovr_1",
        **{"allocation": None, "metric_period": None, "month_reset": None, "trait_key": "", "soft_limit": None}
        | fields,
    )
    return FeatureGrant(feature=feature, grant=grant, expires_at=expires_at)


def _snapshot(**fields: Any) -> CompanySnapshot:
    subscription = SubscriptionFacts(
        public_id="sub_1",
        plan_id="plan_pro",
        plan_name="Pro",
        add_on_ids=(),
        status="active",
        trial_ends_at=None,
        period_start=dt.datetime(2026, 11, 5, tzinfo=dt.UTC),
        period_end=dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
    )
    base: dict[str, Any] = {
        "public_id": "comp_acme",
        "keys": {"external_id": "acme"},
        "traits": (TraitFacts("trait_seats", "seats", "int", "company", "3"),),
        "subscription": subscription,
        "plan_grants": (
            _plan_grant(CALLS, value_type="numeric", allocation=100, metric_period="current_month"),
            _plan_grant(SSO, value_type="boolean"),
        ),
        "counters": {("call", "current_month", "first_of_month"): 42},
    }
    return CompanySnapshot(**(base | fields))


def _check(built: Any, flag: FeatureFacts) -> engine.CheckResult:
    flag_doc = {
        "id": "flag_" + flag.public_id.split("_", 1)[1],
        "key": flag.key,
        "default_value": False,
        "rules": [],
        "account_id": "acct_self_hosted",
        "environment_id": "env_default",
    }
    return engine.evaluate(engine.prepare_flag(flag_doc), engine.prepare_company(built.document), None, None, now=NOW)


def test_build__plan_grants_and_counters__sdk_valid_document_with_usage_and_window_end() -> None:
    built = company_document_build(_snapshot(), now=NOW)
    RulesengineCompany.model_validate(built.document)
    calls = next(summary for summary in built.document["entitlements"] if summary["feature_key"] == "calls")
    assert (calls["allocation"], calls["usage"], calls["metric_reset_at"]) == (100, 42, "2026-12-01T00:00:00Z")
    assert built.valid_until == dt.datetime(2026, 11, 22, tzinfo=dt.UTC)  # the day window ends first
    assert built.document["plan_ids"] == ["plan_pro"] and built.plan == {
        "id": "plan_pro",
        "name": "Pro",
        "trial_end_date": None,
        "trial_status": None,
    }
    assert _check(built, CALLS).value is True


def test_build__override_past_its_expiry__dropped_and_the_plan_applies() -> None:
    expired = _override(SSO, expires_at=NOW - dt.timedelta(seconds=1), value_type="boolean", value=False)
    built = company_document_build(_snapshot(overrides=(expired,)), now=NOW)
    assert built.sources["sso"]["kind"] == "plan"
    assert _check(built, SSO).value is True


def test_build__override_ahead_of_its_expiry__applies_and_bounds_the_document() -> None:
    ends = NOW + dt.timedelta(hours=2)
    off = _override(SSO, expires_at=ends, value_type="boolean", value=False)
    built = company_document_build(_snapshot(overrides=(off,)), now=NOW)
    assert (built.sources["sso"]["kind"], _check(built, SSO).value) == ("override", False)
    assert built.valid_until == ends


def test_build__credits__balances_postpaid_and_the_next_grant_change_bound_the_document() -> None:
    change = NOW + dt.timedelta(minutes=5)
    credits = (CreditFacts("cred_ai", Decimal("12.5"), Decimal(100), Decimal(10)),)
    built = company_document_build(_snapshot(credits=credits, credit_next_change=change), now=NOW)
    assert built.document["credit_balances"] == {"cred_ai": 12.5}
    assert built.document["credit_postpaid"] == {"cred_ai": {"overdraft_limit": 10.0}}
    assert built.valid_until == change


@pytest.mark.django_db
def test_snapshot_fetch__company_with_plan_add_on_override_and_credits__thirteen_queries(
    django_assert_num_queries: Any,
) -> None:
    calls = catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="c")
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    boost = catalog.plan_create(actor=SYSTEM_ACTOR, key="boost", name="Boost", plan_type="add_on")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=pro, feature=calls, value_type="numeric", allocation=9, metric_period="current_day"
    )
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=boost, feature=sso, value_type="boolean")
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    now = timezone.now()
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"id": "acme"}, traits={"seats": 2}, now=now)
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=pro, add_ons=[boost], now=now)
    override_grant(
        actor=SYSTEM_ACTOR, company=company, feature=sso, value_type="boolean", value=False, note="x", now=now
    )
    credit_grant(
        actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=ai, quantity=Decimal(5), reason="manual", now=now
    )
    with django_assert_num_queries(13):
        snapshot = company_snapshot_fetch(company_id=company.pk, now=now)
    assert snapshot is not None
    assert (len(snapshot.plan_grants), len(snapshot.overrides), len(snapshot.credits)) == (2, 1, 1)
    # and the compile is exactly the build of that snapshot
    assert company_document_compile(company_id=company.pk, now=now) == company_document_build(snapshot, now=now)
    assert flag_document(sso)["key"] == "sso"


@pytest.mark.django_db
def test_snapshots_fetch__many_companies__each_the_single_fetch_and_thirteen_queries_in_all(
    django_assert_num_queries: Any,
) -> None:
    calls = catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="c")
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    free = catalog.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free")
    boost = catalog.plan_create(actor=SYSTEM_ACTOR, key="boost", name="Boost", plan_type="add_on")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=pro, feature=calls, value_type="numeric", allocation=9, metric_period="current_month"
    )
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=free, feature=calls, value_type="numeric", allocation=2, metric_period="current_day"
    )
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=boost, feature=sso, value_type="boolean")
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    now = timezone.now()
    companies = []
    for index in range(6):  # different plans, periods, overrides, credits and usage, and one with nothing
        company = company_create(actor=SYSTEM_ACTOR, name=f"C{index}", keys={"id": f"c{index}"}, now=now)
        companies.append(company)
        if index == 5:
            continue
        plan = pro if index % 2 else free
        subscription_put(actor=SYSTEM_ACTOR, company=company, plan=plan, add_ons=[boost] if index % 3 else [], now=now)
        if index % 2:
            override_grant(
                actor=SYSTEM_ACTOR, company=company, feature=sso, value_type="boolean", value=False, note="x", now=now
            )
        credit_grant(
            actor=SYSTEM_ACTOR, company_id=company.pk, credit_type=ai, quantity=Decimal(index + 1), reason="manual",
            now=now, expires_at=now + dt.timedelta(days=index + 1),
        )  # fmt: skip
        event = {"type": "track", "body": {"event": "c", "company": {"id": f"c{index}"}, "quantity": index + 1}}
        batch_capture(events=[event], actor=SYSTEM_ACTOR, now=now)
    ids = [company.pk for company in companies] + [999_999]  # and one that does not exist

    with django_assert_num_queries(13):
        snapshots = company_snapshots_fetch(company_ids=ids, now=now)

    assert set(snapshots) == {company.pk for company in companies}
    for company in companies:
        assert snapshots[company.pk] == company_snapshot_fetch(company_id=company.pk, now=now), company.name
    assert snapshots[companies[1].pk].counters and snapshots[companies[1].pk].overrides
    assert snapshots[companies[1].pk].credit_next_change == now + dt.timedelta(days=2)

"""The database itself refuses invalid catalog rows, whatever door they come through."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Entitlement, Feature, Plan
from catalog.tests.factories import EventFeatureFactory, FeatureFactory, PlanFactory

pytestmark = pytest.mark.django_db


def _refused(model: type[Any], **fields: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


VALID_ENTITLEMENTS = [
    ("boolean", dict(value_type="boolean")),
    ("event", dict(value_type="numeric", allocation=10, metric_period="current_day")),
    ("event", dict(value_type="numeric", allocation=10, metric_period="current_month", month_reset="billing_cycle")),
    ("event", dict(value_type="numeric", allocation=10, metric_period="all_time", soft_limit=8)),
    ("event", dict(value_type="unlimited")),
    ("event", dict(value_type="unlimited", metric_period="current_week")),
    ("event", dict(value_type="trait", trait_key="quota", metric_period="current_day")),
    ("trait", dict(value_type="numeric", allocation=5)),
    ("trait", dict(value_type="trait", trait_key="seat_limit")),
]

INVALID_ENTITLEMENTS = [
    ("boolean", dict(value_type="numeric", allocation=10), "numeric on a boolean feature"),
    ("event", dict(value_type="boolean"), "boolean on an event feature"),
    ("event", dict(value_type="numeric", metric_period="current_day"), "numeric without allocation"),
    ("event", dict(value_type="numeric", allocation=10), "event limit without a period"),
    ("event", dict(value_type="unlimited", allocation=10), "unlimited with an allocation"),
    ("event", dict(value_type="unlimited", soft_limit=3), "unlimited with a soft limit"),
    ("event", dict(value_type="trait", metric_period="current_day"), "trait without trait key"),
    ("event", dict(value_type="numeric", allocation=1, metric_period="current_month"), "monthly without reset"),
    (
        "event",
        dict(value_type="numeric", allocation=1, metric_period="current_day", month_reset="billing_cycle"),
        "reset on a daily period",
    ),
    ("event", dict(value_type="numeric", allocation=1, month_reset="first_of_month"), "reset without a period"),
    ("trait", dict(value_type="numeric", allocation=5, metric_period="current_day"), "period on a trait feature"),
    ("boolean", dict(value_type="boolean", trait_key="x"), "trait key on a boolean"),
]


@pytest.mark.parametrize(("feature_type", "fields"), VALID_ENTITLEMENTS)
def test_entitlement_row__valid_shape__accepted(feature_type: str, fields: dict[str, Any]) -> None:
    feature = _feature(feature_type)
    Entitlement.objects.create(plan=PlanFactory.create(), feature=feature, feature_type=feature_type, **fields)


@pytest.mark.parametrize(("feature_type", "fields", "why"), INVALID_ENTITLEMENTS)
def test_entitlement_row__invalid_shape__refused_by_database(
    feature_type: str, fields: dict[str, Any], why: str
) -> None:
    feature = _feature(feature_type)
    _refused(Entitlement, plan=PlanFactory.create(), feature=feature, feature_type=feature_type, **fields)


def _feature(feature_type: str) -> Feature:
    if feature_type == "event":
        return EventFeatureFactory.create()
    if feature_type == "trait":
        return FeatureFactory.create(feature_type="trait", trait_key="seats_used")
    return FeatureFactory.create()


def test_feature_row__key_differing_in_case__refused() -> None:
    FeatureFactory(key="Reports")
    _refused(Feature, key="reports", name="Again")


def test_feature_row__event_type_without_event_name__refused() -> None:
    _refused(Feature, key="calls", name="Calls", feature_type="event")


def test_plan_rows__two_initial_or_two_fallback__refused() -> None:
    PlanFactory(is_initial=True, is_fallback=True)
    _refused(Plan, key="second", name="Second", is_initial=True)
    _refused(Plan, key="third", name="Third", is_fallback=True)


def test_plan_row__add_on_as_initial__refused() -> None:
    _refused(Plan, key="boost", name="Boost", plan_type="add_on", is_initial=True)


def test_plan_row__inactive_fallback__refused() -> None:
    _refused(Plan, key="old", name="Old", is_active=False, is_fallback=True)

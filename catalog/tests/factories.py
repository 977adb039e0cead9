"""factory_boy factories for catalog rows (tests that need data without going through the API)."""

from __future__ import annotations

import factory

from catalog.models import Entitlement, Feature, FeatureType, Plan, PlanType, Price, ValueType


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    key = factory.Sequence(lambda n: f"feature-{n}")
    name = factory.Sequence(lambda n: f"Feature {n}")
    feature_type = FeatureType.BOOLEAN


class EventFeatureFactory(FeatureFactory):
    feature_type = FeatureType.EVENT
    event_name = factory.Sequence(lambda n: f"event-{n}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    key = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    plan_type = PlanType.BASE


class EntitlementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entitlement

    plan = factory.SubFactory(PlanFactory)
    feature = factory.SubFactory(FeatureFactory)
    feature_type = factory.SelfAttribute("feature.feature_type")
    value_type = ValueType.BOOLEAN


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    plan = factory.SubFactory(PlanFactory)
    interval = "month"
    currency = "usd"
    amount_minor = 2000

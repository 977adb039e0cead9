"""Management API for the catalog: features, plans, plan entitlements and prices (``/api/v1/…``).

Paths name features and plans by key or public id. Views only parse input, call a selector or a service, and
render output; every rule lives in ``catalog.services``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.credit_api import DecimalOutputField, StrictDecimalField
from catalog.models import FeatureType, MetricPeriod, MonthReset, PlanType, Price, PriceInterval, ValueType
from core.api import actor_from_request, reference_in_body, validated_input
from core.api_fields import StrictBooleanField, StrictCharField, StrictIntegerField, StrictSerializer

# --- Serializers -------------------------------------------------------------------------------------------------


class FeatureInput(StrictSerializer):
    key = StrictCharField(max_length=100)
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True)
    feature_type = serializers.ChoiceField(choices=FeatureType.choices, required=False)
    event_name = StrictCharField(required=False, allow_blank=True, max_length=200)
    trait_key = StrictCharField(required=False, allow_blank=True, max_length=100)
    unit_singular = StrictCharField(required=False, allow_blank=True, max_length=50)
    unit_plural = StrictCharField(required=False, allow_blank=True, max_length=50)
    forced_value = StrictBooleanField(
        required=False, allow_null=True, help_text="Kill switch: force the flag on (true) or off (false) for everyone."
    )


class FeatureOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    feature_type = serializers.CharField()
    event_name = serializers.CharField()
    trait_key = serializers.CharField()
    unit_singular = serializers.CharField()
    unit_plural = serializers.CharField()
    forced_value = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PlanInput(StrictSerializer):
    key = StrictCharField(max_length=100)
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True)
    plan_type = serializers.ChoiceField(choices=PlanType.choices, required=False)
    is_active = StrictBooleanField(required=False)
    trial_days = StrictIntegerField(required=False, min_value=0, max_value=3650)
    is_initial = StrictBooleanField(required=False)
    is_fallback = StrictBooleanField(required=False)


class PlanOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    plan_type = serializers.CharField()
    is_active = serializers.BooleanField()
    trial_days = serializers.IntegerField()
    is_initial = serializers.BooleanField()
    is_fallback = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EntitlementInput(StrictSerializer):
    feature = StrictCharField(help_text="Feature key or id.")
    value_type = serializers.ChoiceField(choices=ValueType.choices)
    allocation = StrictIntegerField(required=False, allow_null=True, min_value=0)
    metric_period = serializers.ChoiceField(choices=MetricPeriod.choices, required=False, allow_null=True)
    month_reset = serializers.ChoiceField(choices=MonthReset.choices, required=False, allow_null=True)
    trait_key = StrictCharField(required=False, allow_blank=True, max_length=100)
    soft_limit = StrictIntegerField(required=False, allow_null=True, min_value=0)
    credit_type = StrictCharField(
        required=False, allow_null=True, help_text="Credit type key or id (value_type 'credit' only)."
    )
    consumption_rate = StrictDecimalField(
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        help_text="Credits burned per unit of usage (value_type 'credit' only): a JSON number or a decimal string with "
        "up to 6 places; answered as a decimal string.",
    )


class EntitlementPatchInput(EntitlementInput):
    feature = None  # type: ignore[assignment]  # the feature is the path's; it cannot change


class EntitlementOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    plan = serializers.CharField(source="plan.key")
    feature = serializers.CharField(source="feature.key")
    feature_id = serializers.CharField(source="feature.public_id")
    value_type = serializers.CharField()
    allocation = serializers.IntegerField(allow_null=True)
    metric_period = serializers.CharField(allow_null=True)
    month_reset = serializers.CharField(allow_null=True)
    trait_key = serializers.CharField()
    soft_limit = serializers.IntegerField(allow_null=True)
    credit_type = serializers.CharField(source="credit_type.key", allow_null=True)
    consumption_rate = DecimalOutputField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _credit_type_resolved(data: dict[str, Any]) -> None:
    """Replace a credit type's key or id in ``data`` by the credit type; unknown is a 400 on ``credit_type``."""
    identifier = data.get("credit_type")
    if identifier is not None:
        data["credit_type"] = reference_in_body(
            lambda: selectors.credit_type_get(identifier=identifier), field="credit_type"
        )


class PriceInput(StrictSerializer):
    interval = serializers.ChoiceField(choices=PriceInterval.choices)
    currency = StrictCharField(min_length=3, max_length=3)
    amount_minor = StrictIntegerField(min_value=0)


class PriceOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    plan = serializers.CharField(source="plan.key")
    interval = serializers.CharField()
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField()
    stripe_product_id = serializers.CharField()
    stripe_price_id = serializers.CharField()
    created_at = serializers.DateTimeField()


def _page(view: GenericAPIView, items: Any, output: type[serializers.Serializer]) -> Response:
    page = view.paginate_queryset(items)
    return view.get_paginated_response(output(page, many=True).data)


# --- Features ----------------------------------------------------------------------------------------------------


class FeatureListView(GenericAPIView):
    serializer_class = FeatureOutput

    @extend_schema(responses=FeatureOutput(many=True), summary="List features")
    def get(self, request: Request) -> Response:
        return _page(self, selectors.feature_list(), FeatureOutput)

    @extend_schema(request=FeatureInput, responses={201: FeatureOutput}, summary="Create a feature")
    def post(self, request: Request) -> Response:
        data = validated_input(FeatureInput, request.data)
        feature = services.feature_create(actor=actor_from_request(request), **data)
        return Response(FeatureOutput(feature).data, status=status.HTTP_201_CREATED)


class FeatureDetailView(GenericAPIView):
    serializer_class = FeatureOutput

    @extend_schema(responses=FeatureOutput, summary="Get a feature by key or id")
    def get(self, request: Request, identifier: str) -> Response:
        return Response(FeatureOutput(selectors.feature_get(identifier=identifier)).data)

    @extend_schema(request=FeatureInput(partial=True), responses=FeatureOutput, summary="Change a feature")
    def patch(self, request: Request, identifier: str) -> Response:
        feature = selectors.feature_get(identifier=identifier)
        data = validated_input(FeatureInput, request.data, partial=True)
        feature = services.feature_update(actor=actor_from_request(request), feature=feature, **data)
        return Response(FeatureOutput(feature).data)

    @extend_schema(responses={204: None}, summary="Delete a feature (refused while plans use it)")
    def delete(self, request: Request, identifier: str) -> Response:
        services.feature_delete(actor=actor_from_request(request), feature=selectors.feature_get(identifier=identifier))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Plans -------------------------------------------------------------------------------------------------------


class PlanListView(GenericAPIView):
    serializer_class = PlanOutput

    @extend_schema(responses=PlanOutput(many=True), summary="List plans and add-ons")
    def get(self, request: Request) -> Response:
        return _page(self, selectors.plan_list(), PlanOutput)

    @extend_schema(request=PlanInput, responses={201: PlanOutput}, summary="Create a plan or add-on")
    def post(self, request: Request) -> Response:
        data = validated_input(PlanInput, request.data)
        plan = services.plan_create(actor=actor_from_request(request), **data)
        return Response(PlanOutput(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailView(GenericAPIView):
    serializer_class = PlanOutput

    @extend_schema(responses=PlanOutput, summary="Get a plan by key or id")
    def get(self, request: Request, identifier: str) -> Response:
        return Response(PlanOutput(selectors.plan_get(identifier=identifier)).data)

    @extend_schema(request=PlanInput(partial=True), responses=PlanOutput, summary="Change a plan")
    def patch(self, request: Request, identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        data = validated_input(PlanInput, request.data, partial=True)
        plan = services.plan_update(actor=actor_from_request(request), plan=plan, **data)
        return Response(PlanOutput(plan).data)

    @extend_schema(responses={204: None}, summary="Delete a plan (refused while subscriptions use it)")
    def delete(self, request: Request, identifier: str) -> Response:
        services.plan_delete(actor=actor_from_request(request), plan=selectors.plan_get(identifier=identifier))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Entitlements ------------------------------------------------------------------------------------------------


class EntitlementListView(GenericAPIView):
    serializer_class = EntitlementOutput

    @extend_schema(responses=EntitlementOutput(many=True), summary="List a plan's entitlements")
    def get(self, request: Request, identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        return _page(self, selectors.entitlement_list(plan=plan).select_related("credit_type"), EntitlementOutput)

    @extend_schema(request=EntitlementInput, responses={201: EntitlementOutput}, summary="Add an entitlement")
    def post(self, request: Request, identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        data = validated_input(EntitlementInput, request.data)
        feature_identifier = data.pop("feature")
        feature = reference_in_body(lambda: selectors.feature_get(identifier=feature_identifier), field="feature")
        _credit_type_resolved(data)
        entitlement = services.entitlement_create(actor=actor_from_request(request), plan=plan, feature=feature, **data)
        return Response(EntitlementOutput(entitlement).data, status=status.HTTP_201_CREATED)


class EntitlementDetailView(GenericAPIView):
    serializer_class = EntitlementOutput

    @extend_schema(responses=EntitlementOutput, summary="Get a plan's entitlement for a feature")
    def get(self, request: Request, identifier: str, feature_identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        return Response(
            EntitlementOutput(selectors.entitlement_get(plan=plan, feature_identifier=feature_identifier)).data
        )

    @extend_schema(request=EntitlementPatchInput(partial=True), responses=EntitlementOutput, summary="Change one")
    def patch(self, request: Request, identifier: str, feature_identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        entitlement = selectors.entitlement_get(plan=plan, feature_identifier=feature_identifier)
        data = validated_input(EntitlementPatchInput, request.data, partial=True)
        _credit_type_resolved(data)
        entitlement = services.entitlement_update(actor=actor_from_request(request), entitlement=entitlement, **data)
        return Response(EntitlementOutput(entitlement).data)

    @extend_schema(responses={204: None}, summary="Remove a feature from a plan")
    def delete(self, request: Request, identifier: str, feature_identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        entitlement = selectors.entitlement_get(plan=plan, feature_identifier=feature_identifier)
        services.entitlement_delete(actor=actor_from_request(request), entitlement=entitlement)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Prices ------------------------------------------------------------------------------------------------------


class PriceListView(GenericAPIView):
    serializer_class = PriceOutput

    @extend_schema(responses=PriceOutput(many=True), summary="List a plan's prices")
    def get(self, request: Request, identifier: str) -> Response:
        return _page(self, selectors.price_list(plan=selectors.plan_get(identifier=identifier)), PriceOutput)

    @extend_schema(request=PriceInput, responses={201: PriceOutput}, summary="Add a price to a plan")
    def post(self, request: Request, identifier: str) -> Response:
        plan = selectors.plan_get(identifier=identifier)
        data = validated_input(PriceInput, request.data)
        price = services.price_create(actor=actor_from_request(request), plan=plan, **data)
        return Response(PriceOutput(price).data, status=status.HTTP_201_CREATED)


class PriceDetailView(GenericAPIView):
    serializer_class = PriceOutput

    def _price(self, identifier: str, price_id: str) -> Price:
        return selectors.price_get(plan=selectors.plan_get(identifier=identifier), public_id=price_id)

    @extend_schema(responses=PriceOutput, summary="Get a price")
    def get(self, request: Request, identifier: str, price_id: str) -> Response:
        return Response(PriceOutput(self._price(identifier, price_id)).data)

    @extend_schema(request=PriceInput(partial=True), responses=PriceOutput, summary="Change a price")
    def patch(self, request: Request, identifier: str, price_id: str) -> Response:
        price = self._price(identifier, price_id)
        data = validated_input(PriceInput, request.data, partial=True)
        price = services.price_update(actor=actor_from_request(request), price=price, **data)
        return Response(PriceOutput(price).data)

    @extend_schema(responses={204: None}, summary="Delete a price")
    def delete(self, request: Request, identifier: str, price_id: str) -> Response:
        services.price_delete(actor=actor_from_request(request), price=self._price(identifier, price_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

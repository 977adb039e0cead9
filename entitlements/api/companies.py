"""Management API for companies and their subscriptions (``/api/v1/companies…``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.selectors import feature_get, plan_get
from core.api import actor_from_request, reference_in_body, validated_input
from core.api_fields import (
    StrictCharField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictObjectField,
    StrictSerializer,
)
from core.errors import ValidationFailed
from entitlements import selectors
from entitlements.board.entitlement_board import company_entitlement_board, company_feature_explain
from entitlements.models import Company, Subscription, SubscriptionStatus
from entitlements.services.companies import company_create, company_delete, company_update
from entitlements.services.subscriptions import subscription_put
from entitlements.services.trials import subscription_start_trial, subscription_trial_end_change


class CompanyInput(StrictSerializer):
    name = StrictCharField(max_length=255)
    keys = StrictObjectField(required=False, help_text="Key name → string value; a (name, value) names one company.")
    traits = StrictObjectField(required=False, help_text="Trait key → string, integer or boolean value.")


class CompanyPatchInput(CompanyInput):
    keys = StrictObjectField(required=False, help_text="Merge-patch: a null value removes that key.")
    traits = StrictObjectField(required=False, help_text="Merge-patch: a null value removes that trait.")


class SubscriptionOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    plan = serializers.CharField(source="plan.key")
    plan_id = serializers.CharField(source="plan.public_id")
    add_ons = serializers.SerializerMethodField()
    status = serializers.CharField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField()
    canceled_at = serializers.DateTimeField(allow_null=True)

    def get_add_ons(self, subscription: Subscription) -> list[str]:
        return sorted(add_on.key for add_on in subscription.add_ons.all())


class CompanyOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    keys = serializers.SerializerMethodField()
    traits = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_keys(self, company: Company) -> dict[str, str]:
        return selectors.company_keys(company)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_traits(self, company: Company) -> dict[str, Any]:
        return selectors.company_traits(company)

    @extend_schema_field(SubscriptionOutput(allow_null=True))
    def get_subscription(self, company: Company) -> dict[str, Any] | None:
        live = selectors.subscription_live_get(company=company)
        return SubscriptionOutput(live).data if live is not None else None


class SubscriptionInput(StrictSerializer):
    plan = StrictCharField(help_text="Base plan key or id.")
    add_ons = serializers.ListField(child=StrictCharField(), required=False, help_text="Add-on keys or ids.")
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
    trial_ends_at = StrictDateTimeField(required=False, allow_null=True)
    current_period_start = StrictDateTimeField(required=False, allow_null=True)
    current_period_end = StrictDateTimeField(required=False, allow_null=True)


def _company_fresh(company: Company) -> Company:
    return selectors.company_get(public_id=company.public_id)


class CompanyListView(GenericAPIView):
    serializer_class = CompanyOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("key_name", str, description="Find the company holding this key name…"),
            OpenApiParameter("key_value", str, description="…with this value (both compared ignoring case)."),
        ],
        responses=CompanyOutput(many=True),
        summary="List companies, or look one up by key",
    )
    def get(self, request: Request) -> Response:
        key_name, key_value = request.query_params.get("key_name"), request.query_params.get("key_value")
        if (key_name is None) != (key_value is None):
            missing = "key_value" if key_value is None else "key_name"
            raise ValidationFailed("Give key_name and key_value together.", field=missing)
        companies = selectors.company_list(key_name=key_name, key_value=key_value)
        page = self.paginate_queryset(companies)
        return self.get_paginated_response(CompanyOutput(page, many=True).data)

    @extend_schema(request=CompanyInput, responses={201: CompanyOutput}, summary="Create a company")
    def post(self, request: Request) -> Response:
        data = validated_input(CompanyInput, request.data)
        company = company_create(actor=actor_from_request(request), now=timezone.now(), **data)
        return Response(CompanyOutput(_company_fresh(company)).data, status=status.HTTP_201_CREATED)


class CompanyDetailView(GenericAPIView):
    serializer_class = CompanyOutput

    @extend_schema(responses=CompanyOutput, summary="Get a company")
    def get(self, request: Request, public_id: str) -> Response:
        return Response(CompanyOutput(selectors.company_get(public_id=public_id)).data)

    @extend_schema(request=CompanyPatchInput(partial=True), responses=CompanyOutput, summary="Change a company")
    def patch(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data = validated_input(CompanyPatchInput, request.data, partial=True)
        company = company_update(actor=actor_from_request(request), company=company, **data)
        return Response(CompanyOutput(_company_fresh(company)).data)

    @extend_schema(responses={204: None}, summary="Delete a company")
    def delete(self, request: Request, public_id: str) -> Response:
        company_delete(actor=actor_from_request(request), company=selectors.company_get(public_id=public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionView(GenericAPIView):
    serializer_class = SubscriptionOutput

    def get_object(self) -> Company:
        """The company named in the path, whose subscription this view reads and replaces.

        DRF's OPTIONS handling calls this before describing PUT; the generic version needs a queryset (a 500).
        """
        return selectors.company_get(public_id=self.kwargs["public_id"])

    @extend_schema(responses=SubscriptionOutput, summary="Get the company's subscription")
    def get(self, request: Request, public_id: str) -> Response:
        company = self.get_object()
        return Response(SubscriptionOutput(selectors.subscription_current_get(company=company)).data)

    @extend_schema(request=SubscriptionInput, responses=SubscriptionOutput, summary="Put the company on a plan")
    def put(self, request: Request, public_id: str) -> Response:
        company = self.get_object()
        data = validated_input(SubscriptionInput, request.data)
        plan_identifier = data.pop("plan")
        plan = reference_in_body(lambda: plan_get(identifier=plan_identifier), field="plan")
        add_ons = [
            reference_in_body(lambda key=key: plan_get(identifier=key), field=f"add_ons.{index}")  # type: ignore[misc]
            for index, key in enumerate(data.pop("add_ons", []))
        ]
        subscription = subscription_put(
            actor=actor_from_request(request),
            company=company,
            plan=plan,
            add_ons=add_ons,
            now=timezone.now(),
            **{name: value for name, value in data.items() if value is not None},
        )
        return Response(SubscriptionOutput(subscription).data)


class FeatureStateOutput(serializers.Serializer):
    feature = serializers.CharField(source="feature.key")
    feature_id = serializers.CharField(source="feature.public_id")
    name = serializers.CharField(source="feature.name")
    value = serializers.BooleanField(help_text="What a check answers now.")
    value_type = serializers.CharField(allow_null=True)
    allocation = serializers.IntegerField(allow_null=True)
    usage = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)
    soft_limit = serializers.IntegerField(allow_null=True)
    metric_period = serializers.CharField(allow_null=True)
    resets_at = serializers.DateTimeField(allow_null=True)
    # A field named "source" shadows DRF's Field.source in the stubs; at run time DRF collects it as a field.
    source = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="kind: plan, add_on, trial or default"
    )
    reason = serializers.CharField()
    rule_type = serializers.CharField(allow_null=True)
    summary = serializers.CharField(help_text="The decision in one plain sentence.")


class ExplanationOutput(serializers.Serializer):
    state = FeatureStateOutput()
    lines = serializers.ListField(child=serializers.CharField(), help_text="Every rule tried, in plain words.")


class CompanyEntitlementsView(GenericAPIView):
    serializer_class = FeatureStateOutput
    pagination_class = None

    @extend_schema(responses=FeatureStateOutput(many=True), summary="What the company may do, feature by feature")
    def get(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        rows = company_entitlement_board(company=company, now=timezone.now())
        return Response(FeatureStateOutput(rows, many=True).data)


class CompanyFeatureExplainView(GenericAPIView):
    serializer_class = ExplanationOutput

    @extend_schema(responses=ExplanationOutput, summary="Why a check answers as it does, in plain words")
    def get(self, request: Request, public_id: str, feature_identifier: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        feature = feature_get(identifier=feature_identifier)
        explanation = company_feature_explain(company=company, feature=feature, now=timezone.now())
        return Response(ExplanationOutput(explanation).data)


class TrialInput(StrictSerializer):
    plan = StrictCharField(help_text="Base plan key or id.")
    days = StrictIntegerField(required=False, min_value=1, max_value=366)
    ends_at = StrictDateTimeField(required=False)
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)


class TrialChangeInput(StrictSerializer):
    ends_at = StrictDateTimeField()
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)


class TrialView(GenericAPIView):
    serializer_class = SubscriptionOutput

    @extend_schema(request=TrialInput, responses=SubscriptionOutput, summary="Start a trial of a plan")
    def post(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data = validated_input(TrialInput, request.data)
        plan_identifier = data.pop("plan")
        plan = reference_in_body(lambda: plan_get(identifier=plan_identifier), field="plan")
        subscription = subscription_start_trial(
            actor=actor_from_request(request), company=company, plan=plan, now=timezone.now(), **data
        )
        return Response(SubscriptionOutput(subscription).data)

    @extend_schema(request=TrialChangeInput, responses=SubscriptionOutput, summary="Extend or shorten the trial")
    def patch(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data = validated_input(TrialChangeInput, request.data)
        subscription = subscription_trial_end_change(
            actor=actor_from_request(request), company=company, now=timezone.now(), **data
        )
        return Response(SubscriptionOutput(subscription).data)

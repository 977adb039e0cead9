"""``/api/v1/companies/{id}/overrides``: grant, read, change and revoke a company's exceptions."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import MetricPeriod, MonthReset
from catalog.selectors import feature_get
from core.api import actor_from_request, reference_in_body, validated_input
from core.api_fields import (
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictSerializer,
)
from entitlements import selectors
from entitlements.models import Company, CompanyOverride, OverrideReason, OverrideState, OverrideValueType
from entitlements.rules.overrides import override_state_at
from entitlements.services.overrides import override_grant, override_revoke, override_update


class OverrideInput(StrictSerializer):
    feature = StrictCharField(help_text="Feature key or id.")
    value_type = serializers.ChoiceField(choices=OverrideValueType.choices)
    value = StrictBooleanField(required=False, allow_null=True, help_text="On or off (boolean overrides).")
    allocation = StrictIntegerField(required=False, allow_null=True, min_value=0)
    metric_period = serializers.ChoiceField(choices=MetricPeriod.choices, required=False, allow_null=True)
    month_reset = serializers.ChoiceField(choices=MonthReset.choices, required=False, allow_null=True)
    trait_key = StrictCharField(required=False, allow_blank=True, max_length=100)
    expires_at = StrictDateTimeField(required=False, allow_null=True)
    note = StrictCharField(max_length=2000, help_text="Why this company gets an exception.")
    reason = serializers.ChoiceField(
        choices=OverrideReason.choices, required=False, help_text="Why, as a category (the note says the rest)."
    )


class OverridePatchInput(OverrideInput):
    feature = None  # type: ignore[assignment]  # the path names the feature
    note = StrictCharField(required=False, max_length=2000, help_text="Why it changes (replaces the note).")
    reason = None  # type: ignore[assignment]  # the reason of a grant stays what it was


class OverrideOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    company = serializers.CharField(source="company.public_id")
    feature = serializers.CharField(source="feature.key")
    value_type = serializers.CharField()
    value = serializers.BooleanField(allow_null=True)
    allocation = serializers.IntegerField(allow_null=True)
    metric_period = serializers.CharField(allow_null=True)
    month_reset = serializers.CharField(allow_null=True)
    trait_key = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    reason = serializers.CharField(help_text="sales_deal, support_goodwill, trial, incident, other; empty if none.")
    granted_by = serializers.CharField(source="granted_by_label")
    state = serializers.SerializerMethodField(help_text="active, expired or revoked, as of the answer.")
    ended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=OverrideState.choices))
    def get_state(self, override: CompanyOverride) -> str:
        """The state as of now: past its expiry an override is expired, whether or not the job has marked it."""
        return override_state_at(state=override.state, expires_at=override.expires_at, now=timezone.now())


def _active(company: Company, feature_identifier: str) -> CompanyOverride:
    feature = feature_get(identifier=feature_identifier)
    return selectors.override_active_get(company=company, feature=feature, now=timezone.now())


class OverrideListView(GenericAPIView):
    serializer_class = OverrideOutput

    @extend_schema(responses=OverrideOutput(many=True), summary="List the company's overrides (?state=active…)")
    def get(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        state = request.query_params.get("state")
        overrides = selectors.override_list(company=company, state=state, now=timezone.now())
        page = self.paginate_queryset(overrides)
        return self.get_paginated_response(OverrideOutput(page, many=True).data)

    @extend_schema(request=OverrideInput, responses={201: OverrideOutput}, summary="Grant an override")
    def post(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data: dict[str, Any] = validated_input(OverrideInput, request.data)
        feature_identifier = data.pop("feature")
        feature = reference_in_body(lambda: feature_get(identifier=feature_identifier), field="feature")
        override = override_grant(
            actor=actor_from_request(request), company=company, feature=feature, now=timezone.now(), **data
        )
        return Response(OverrideOutput(override).data, status=status.HTTP_201_CREATED)


class OverrideDetailView(GenericAPIView):
    serializer_class = OverrideOutput

    @extend_schema(responses=OverrideOutput, summary="The company's active override of a feature")
    def get(self, request: Request, public_id: str, feature_identifier: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        return Response(OverrideOutput(_active(company, feature_identifier)).data)

    @extend_schema(request=OverridePatchInput(partial=True), responses=OverrideOutput, summary="Change an override")
    def patch(self, request: Request, public_id: str, feature_identifier: str) -> Response:
        override = _active(selectors.company_get(public_id=public_id), feature_identifier)
        data: dict[str, Any] = validated_input(OverridePatchInput, request.data, partial=True)
        note = data.pop("note", "")
        updated = override_update(
            actor=actor_from_request(request), override=override, note=note, now=timezone.now(), **data
        )
        return Response(OverrideOutput(updated).data)

    @extend_schema(responses=OverrideOutput, summary="Revoke an override (the plan's value applies again)")
    def delete(self, request: Request, public_id: str, feature_identifier: str) -> Response:
        override = _active(selectors.company_get(public_id=public_id), feature_identifier)
        revoked = override_revoke(actor=actor_from_request(request), override=override, now=timezone.now())
        return Response(OverrideOutput(revoked).data)

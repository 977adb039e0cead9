"""``/api/v1/companies/{id}/credit-…``: grant and refund a company's credits, read its balances and its ledger.

Credit amounts are exact decimals with up to six places: requests may send a JSON number or a decimal string, answers
always carry a decimal string (``"2.5"``). A refund is a grant with reason ``refund``: the credits come back as a new
grant (with the credit type's default expiry unless one is given), so the ledger shows it as a ``grant`` entry whose
grant has the reason ``refund``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.credit_api import DecimalOutputField, StrictDecimalField
from catalog.models import CreditType
from catalog.selectors import credit_type_get
from core.api import actor_from_request, reference_in_body, validated_input
from core.api_fields import StrictCharField, StrictDateTimeField, StrictSerializer
from core.errors import ValidationFailed
from credits.models import GrantReason
from credits.selectors import credit_balances, credit_grant_list, credit_ledger
from credits.services import credit_grant
from entitlements import selectors

_QUANTITY_HELP = (
    "Credits, positive: an exact decimal with up to 6 places, as a JSON number or a decimal string. Answers carry "
    "amounts as decimal strings."
)
# Plan and rollover grants are the system's own; a refund has its own endpoint.
_MANUAL_REASONS = [GrantReason.MANUAL, GrantReason.PROMOTIONAL, GrantReason.PURCHASE]


class CreditGrantInput(StrictSerializer):
    credit_type = StrictCharField(help_text="Credit type key or id.")
    quantity = StrictDecimalField(help_text=_QUANTITY_HELP)
    reason = serializers.ChoiceField(
        choices=[(reason.value, reason.label) for reason in _MANUAL_REASONS],
        required=False,
        default=GrantReason.MANUAL.value,
        help_text="Why the company gets the credits (default manual).",
    )
    valid_from = StrictDateTimeField(required=False, help_text="When the credits become usable (default now).")
    expires_at = StrictDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the unused credits expire; must come after valid_from. Default: the credit type's default "
        "expiry (none if it has none).",
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=2000, help_text="Recorded on the ledger.")


class CreditRefundInput(StrictSerializer):
    credit_type = StrictCharField(help_text="Credit type key or id.")
    quantity = StrictDecimalField(help_text=_QUANTITY_HELP)
    expires_at = StrictDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the refunded credits expire. Default: the credit type's default expiry.",
    )
    note = StrictCharField(max_length=2000, help_text="Why the credits are refunded; recorded on the ledger.")


class CreditGrantOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    company = serializers.CharField(source="company.public_id")
    credit_type = serializers.CharField(source="credit_type.key")
    credit_type_id = serializers.CharField(source="credit_type.public_id")
    quantity = DecimalOutputField()
    remaining = DecimalOutputField(help_text="What is left of this grant (less if it paid off an overdraft).")
    reason = serializers.CharField()
    valid_from = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]  # DRF pops declared fields off the class
    created_at = serializers.DateTimeField()


class CreditBalanceOutput(serializers.Serializer):
    credit_type = serializers.CharField(source="credit_type.key")
    credit_type_id = serializers.CharField(source="credit_type.public_id")
    name = serializers.CharField(source="credit_type.name")
    balance = DecimalOutputField(
        help_text="Usable credits now (unexpired grants minus overdraft); negative while overdrawn."
    )


class CreditBalancesOutput(serializers.Serializer):
    company = serializers.CharField()
    as_of = serializers.DateTimeField()
    results = CreditBalanceOutput(many=True)


class CreditLedgerEntryOutput(serializers.Serializer):
    credit_type = serializers.CharField(source="credit_type.key")
    kind = serializers.CharField(help_text="grant, burn, expiry, rollover, refund or adjustment.")
    quantity = DecimalOutputField(help_text="Signed: positive adds credits, negative takes them.")
    unfunded = DecimalOutputField(help_text="What a burn could not fund (the usage still happened).")
    balance_after = DecimalOutputField()
    grant = serializers.CharField(source="grant.public_id", allow_null=True)
    reason = serializers.CharField(source="grant.reason", allow_null=True, help_text="The reason of the grant touched.")
    actor_kind = serializers.CharField()
    actor_label = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreditLedgerQuery(StrictSerializer):
    credit_type = StrictCharField(required=False, help_text="Only entries of this credit type (key or id).")
    since = StrictDateTimeField(required=False, help_text="Entries at or after this time (RFC 3339).")
    until = StrictDateTimeField(required=False, help_text="Entries before this time (RFC 3339).")


def _credit_type_in_body(identifier: str) -> CreditType:
    return reference_in_body(lambda: credit_type_get(identifier=identifier), field="credit_type")


def _expiry_ahead(data: dict[str, Any], now: dt.datetime) -> None:
    """Credits that would be born expired are a client mistake (the service only checks against ``valid_from``)."""
    expires_at = data.get("expires_at")
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("The expiry must be in the future.", field="expires_at")


class CreditGrantView(GenericAPIView):
    serializer_class = CreditGrantOutput

    @extend_schema(
        parameters=[OpenApiParameter("credit_type", OpenApiTypes.STR, description="Only grants of this credit type.")],
        responses=CreditGrantOutput(many=True),
        summary="List the company's credit grants, newest first",
    )
    def get(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        identifier = request.query_params.get("credit_type")
        credit_type = _credit_type_in_body(identifier) if identifier else None
        page = self.paginate_queryset(credit_grant_list(company_id=company.pk, credit_type=credit_type))
        return self.get_paginated_response(CreditGrantOutput(page, many=True).data)

    @extend_schema(request=CreditGrantInput, responses={201: CreditGrantOutput}, summary="Grant credits to a company")
    def post(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data: dict[str, Any] = validated_input(CreditGrantInput, request.data)
        credit_type = _credit_type_in_body(data.pop("credit_type"))
        now = timezone.now()
        _expiry_ahead(data, now)
        grant = credit_grant(
            actor=actor_from_request(request), company_id=company.pk, credit_type=credit_type, now=now, **data
        )
        return Response(CreditGrantOutput(grant).data, status=status.HTTP_201_CREATED)


class CreditRefundView(GenericAPIView):
    serializer_class = CreditGrantOutput

    @extend_schema(
        request=CreditRefundInput,
        responses={201: CreditGrantOutput},
        summary="Refund credits to a company: a new grant with reason 'refund'",
    )
    def post(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        data: dict[str, Any] = validated_input(CreditRefundInput, request.data)
        credit_type = _credit_type_in_body(data.pop("credit_type"))
        now = timezone.now()
        _expiry_ahead(data, now)
        grant = credit_grant(
            actor=actor_from_request(request),
            company_id=company.pk,
            credit_type=credit_type,
            reason=GrantReason.REFUND,
            now=now,
            **data,
        )
        return Response(CreditGrantOutput(grant).data, status=status.HTTP_201_CREATED)


class CreditBalancesView(GenericAPIView):
    serializer_class = CreditBalancesOutput

    @extend_schema(
        responses=CreditBalancesOutput,
        summary="The company's usable balance of each credit type it holds",
    )
    def get(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        now = timezone.now()
        results = [
            {"credit_type": credit_type, "balance": balance}
            for credit_type, balance in credit_balances(company_id=company.pk, now=now)
        ]
        return Response(CreditBalancesOutput({"company": company.public_id, "as_of": now, "results": results}).data)


class CreditLedgerView(GenericAPIView):
    serializer_class = CreditLedgerEntryOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("credit_type", OpenApiTypes.STR, description="Only entries of this credit type."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="At or after this time (RFC 3339)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this time (RFC 3339)."),
        ],
        responses=CreditLedgerEntryOutput(many=True),
        summary="The company's credit ledger, newest first",
    )
    def get(self, request: Request, public_id: str) -> Response:
        company = selectors.company_get(public_id=public_id)
        params = {name: request.query_params.get(name) for name in ("credit_type", "since", "until")}
        query = validated_input(CreditLedgerQuery, {name: value for name, value in params.items() if value})
        since, until = query.get("since"), query.get("until")
        if since is not None and until is not None and until <= since:
            raise ValidationFailed("The end of the window must come after its start.", field="until")
        credit_type = _credit_type_in_body(query["credit_type"]) if "credit_type" in query else None
        entries = credit_ledger(company_id=company.pk, credit_type=credit_type, since=since, until=until)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(CreditLedgerEntryOutput(page, many=True).data)

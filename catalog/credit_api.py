"""Management API for the credit catalog: credit types and credit bundles (``/api/v1/credit-types…``,
``/api/v1/credit-bundles…``).

Credit amounts (quantities, overdraft limits, prices per credit) are exact decimals with up to six places: requests
may send a JSON number or a decimal string, answers always carry a decimal string (``"2.5"``) so that no client
rounds them through a binary float. Paths name credit types and bundles by key or public id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import credit_services, selectors
from catalog.models import BurnOrder, CreditType
from core.api import actor_from_request, reference_in_body, validated_input
from core.api_fields import StrictBooleanField, StrictCharField, StrictIntegerField, StrictSerializer

CREDIT_DIGITS = 20
CREDIT_PLACES = 6
_DECIMAL_HELP = "An exact decimal with up to 6 places: a JSON number or a decimal string; answered as a string."


@extend_schema_field({"oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}]})
class StrictDecimalField(serializers.DecimalField):
    """An exact decimal given as a JSON number or a decimal string (not a boolean, array or object), with the credit
    ledger's precision; rendered as a normalized decimal string (``"2.5"``, ``"100"``)."""

    default_error_messages = {"not_a_decimal": "Must be a number or a decimal string, not {kind}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", CREDIT_DIGITS)
        kwargs.setdefault("decimal_places", CREDIT_PLACES)
        kwargs.setdefault("coerce_to_string", True)
        kwargs.setdefault("normalize_output", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF reads a blank string as null; a blank string is not a number.
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("not_a_decimal", kind=_json_kind(data))
        return super().to_internal_value(data)


class DecimalOutputField(serializers.DecimalField):
    """A stored credit amount as a normalized decimal string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=CREDIT_DIGITS,
            decimal_places=CREDIT_PLACES,
            coerce_to_string=True,
            normalize_output=True,
            **kwargs,
        )


_PRICES_SCHEMA = {"type": "object", "additionalProperties": {"type": "string", "format": "decimal"}}
_PRICES_HELP = (
    'The price of one credit per currency, in minor units: {"usd": "0.5"} is half a cent. A change merges into the '
    "stored prices; a null amount removes that currency."
)


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "string", "format": "decimal", "nullable": True}}
)
class CreditPricesField(serializers.Field):
    """Currency → price of one credit in minor units (a decimal: a credit may cost a fraction of a cent); ``null``
    removes that currency. Errors are named ``prices.<currency>``."""

    default_error_messages = {"not_an_object": "Must be an object of currency → amount, not {kind}."}

    def to_internal_value(self, data: Any) -> dict[str, Decimal | None]:
        if not isinstance(data, dict):
            self.fail("not_an_object", kind=_json_kind(data))
        amounts: dict[str, Decimal | None] = {}
        errors: dict[str, list[str]] = {}
        for currency, raw in data.items():
            if raw is None:
                amounts[currency] = None
                continue
            try:
                amounts[currency] = StrictDecimalField(min_value=Decimal(0)).run_validation(raw)
            except serializers.ValidationError as error:
                errors[currency] = [str(message) for message in error.detail]
        if errors:
            raise serializers.ValidationError(errors)
        return amounts

    def to_representation(self, value: Any) -> Any:
        return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- Serializers -------------------------------------------------------------------------------------------------


class CreditTypeInput(StrictSerializer):
    key = StrictCharField(max_length=100)
    name = StrictCharField(max_length=200)
    singular_name = StrictCharField(required=False, max_length=50, help_text='Default "credit".')
    plural_name = StrictCharField(required=False, max_length=50, help_text='Default "credits".')
    burn_order = serializers.ChoiceField(
        choices=BurnOrder.choices, required=False, help_text="Which grants a burn takes from first."
    )
    default_expiry_days = StrictIntegerField(
        required=False, allow_null=True, min_value=1, help_text="Days a grant stays valid; null: grants never expire."
    )
    overdraft_limit = StrictDecimalField(
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        help_text="How far below zero a balance may go; null: not at all. " + _DECIMAL_HELP,
    )
    low_balance_threshold = StrictDecimalField(
        required=False, allow_null=True, min_value=Decimal(0), help_text="Alert below this balance. " + _DECIMAL_HELP
    )
    low_balance_percent = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="…or below this share of what was granted.",
    )
    prices = CreditPricesField(required=False, help_text=_PRICES_HELP)


class CreditTypeOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    key = serializers.CharField()
    name = serializers.CharField()
    singular_name = serializers.CharField()
    plural_name = serializers.CharField()
    burn_order = serializers.CharField()
    default_expiry_days = serializers.IntegerField(allow_null=True)
    overdraft_limit = DecimalOutputField(allow_null=True)
    low_balance_threshold = DecimalOutputField(allow_null=True)
    low_balance_percent = serializers.IntegerField(allow_null=True)
    prices = serializers.SerializerMethodField(help_text="Currency → price of one credit in minor units.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(_PRICES_SCHEMA)
    def get_prices(self, credit_type: CreditType) -> dict[str, str]:
        amount = DecimalOutputField()
        return {
            price.currency: amount.to_representation(price.unit_amount_minor)
            for price in sorted(credit_type.prices.all(), key=lambda price: price.currency)
        }


class CreditBundleInput(StrictSerializer):
    key = StrictCharField(max_length=100)
    name = StrictCharField(max_length=200)
    credit_type = StrictCharField(help_text="Credit type key or id.")
    quantity = StrictDecimalField(help_text="Credits in the pack (positive). " + _DECIMAL_HELP)
    price_minor = StrictIntegerField(min_value=0, help_text="What the pack costs, in minor units of the currency.")
    currency = StrictCharField(min_length=3, max_length=3, help_text="Lower-case ISO code, e.g. usd.")
    expiry_days = StrictIntegerField(
        required=False, allow_null=True, min_value=1, help_text="Days the credits stay valid; null: the type's default."
    )
    is_active = StrictBooleanField(required=False, help_text="On sale (false withdraws it).")


class CreditBundleOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    key = serializers.CharField()
    name = serializers.CharField()
    credit_type = serializers.CharField(source="credit_type.key")
    credit_type_id = serializers.CharField(source="credit_type.public_id")
    quantity = DecimalOutputField()
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    expiry_days = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


def _page(view: GenericAPIView, items: Any, output: type[serializers.Serializer]) -> Response:
    page = view.paginate_queryset(items)
    return view.get_paginated_response(output(page, many=True).data)


# --- Credit types ------------------------------------------------------------------------------------------------


class CreditTypeListView(GenericAPIView):
    serializer_class = CreditTypeOutput

    @extend_schema(responses=CreditTypeOutput(many=True), summary="List credit types")
    def get(self, request: Request) -> Response:
        return _page(self, selectors.credit_type_list(), CreditTypeOutput)

    @extend_schema(request=CreditTypeInput, responses={201: CreditTypeOutput}, summary="Create a credit type")
    def post(self, request: Request) -> Response:
        data = validated_input(CreditTypeInput, request.data)
        credit_type = credit_services.credit_type_create(actor=actor_from_request(request), **data)
        return Response(CreditTypeOutput(credit_type).data, status=status.HTTP_201_CREATED)


class CreditTypeDetailView(GenericAPIView):
    serializer_class = CreditTypeOutput

    @extend_schema(responses=CreditTypeOutput, summary="Get a credit type by key or id")
    def get(self, request: Request, identifier: str) -> Response:
        return Response(CreditTypeOutput(selectors.credit_type_get(identifier=identifier)).data)

    @extend_schema(
        request=CreditTypeInput(partial=True),
        responses=CreditTypeOutput,
        summary="Change a credit type (prices merge: a null amount removes that currency)",
    )
    def patch(self, request: Request, identifier: str) -> Response:
        credit_type = selectors.credit_type_get(identifier=identifier)
        data = validated_input(CreditTypeInput, request.data, partial=True)
        credit_type = credit_services.credit_type_update(
            actor=actor_from_request(request), credit_type=credit_type, **data
        )
        return Response(CreditTypeOutput(credit_type).data)


# --- Credit bundles ----------------------------------------------------------------------------------------------


def _credit_type_named(data: dict[str, Any]) -> None:
    """Replace the credit type's key or id in ``data`` by the credit type; unknown is a 400 on ``credit_type``."""
    if "credit_type" in data:
        identifier = data["credit_type"]
        data["credit_type"] = reference_in_body(
            lambda: selectors.credit_type_get(identifier=identifier), field="credit_type"
        )


class CreditBundleListView(GenericAPIView):
    serializer_class = CreditBundleOutput

    @extend_schema(
        parameters=[OpenApiParameter("credit_type", OpenApiTypes.STR, description="Only bundles of this credit type.")],
        responses=CreditBundleOutput(many=True),
        summary="List credit bundles",
    )
    def get(self, request: Request) -> Response:
        identifier = request.query_params.get("credit_type")
        credit_type = (
            reference_in_body(lambda: selectors.credit_type_get(identifier=identifier), field="credit_type")
            if identifier
            else None
        )
        return _page(self, selectors.credit_bundle_list(credit_type=credit_type), CreditBundleOutput)

    @extend_schema(request=CreditBundleInput, responses={201: CreditBundleOutput}, summary="Create a credit bundle")
    def post(self, request: Request) -> Response:
        data = validated_input(CreditBundleInput, request.data)
        _credit_type_named(data)
        bundle = credit_services.credit_bundle_create(actor=actor_from_request(request), **data)
        return Response(CreditBundleOutput(bundle).data, status=status.HTTP_201_CREATED)


class CreditBundleDetailView(GenericAPIView):
    serializer_class = CreditBundleOutput

    @extend_schema(responses=CreditBundleOutput, summary="Get a credit bundle by key or id")
    def get(self, request: Request, identifier: str) -> Response:
        return Response(CreditBundleOutput(selectors.credit_bundle_get(identifier=identifier)).data)

    @extend_schema(
        request=CreditBundleInput(partial=True),
        responses=CreditBundleOutput,
        summary="Change a credit bundle (is_active: false withdraws it from sale)",
    )
    def patch(self, request: Request, identifier: str) -> Response:
        bundle = selectors.credit_bundle_get(identifier=identifier)
        data = validated_input(CreditBundleInput, request.data, partial=True)
        _credit_type_named(data)
        bundle = credit_services.credit_bundle_update(actor=actor_from_request(request), bundle=bundle, **data)
        return Response(CreditBundleOutput(bundle).data)

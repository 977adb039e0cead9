"""DRF plumbing shared by every API: JSON error bodies that name the bad fields, and pagination.

Every error answer has the shape ``{"error": "<summary>", "code": "<code>", "fields": {"<dotted.field>": ["…"]}}``
(``fields`` present when specific inputs are at fault).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import exception_handler as drf_exception_handler

from core.actors import Actor, ActorKind
from core.errors import DomainError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (at most 200 a page)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class JsonParser(JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit is a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from error


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b.0": ["message"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            for sub_key, messages in _flatten(value, name).items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (Mapping, list)) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def error_body(message: str, code: str, fields: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The JSON body of every API error."""
    body: dict[str, Any] = {"error": message, "code": code}
    if fields:
        body["fields"] = dict(fields)
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain and DRF exceptions to JSON 4xx answers; anything else is left to Django (a logged 500)."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, exc.code, exc.fields), status=exc.http_status)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        summary = "Invalid input: " + ", ".join(sorted(fields)) if fields else "Invalid input."
        return Response(error_body(summary, "invalid", fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail, codes = exc.detail, exc.get_codes()
        message = str(detail) if not isinstance(detail, (list, dict)) else "Request refused."
        response.data = error_body(message, codes if isinstance(codes, str) else str(exc.default_code))
    return response


def actor_from_request(request: Any) -> Actor:
    """The actor behind an authenticated API request: the API key (``request.auth``) that signed it."""
    credential = getattr(request, "auth", None)
    return Actor(
        kind=ActorKind.API_KEY,
        identifier=str(getattr(credential, "public_id", "")),
        label=str(getattr(credential, "name", "")),
    )


def validated_input(serializer_class: type[Serializer], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Run an input serializer; 400 naming each bad field when it fails. Only the fields sent are returned."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def reference_in_body(lookup: Callable[[], T], *, field: str) -> T:
    """Resolve an object named in a request body: an unknown one is bad input (400 on ``field``), not a 404."""
    try:
        return lookup()
    except NotFound as error:
        raise ValidationFailed(error.message, field=field, code="unknown_reference") from error

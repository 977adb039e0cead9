"""Describes API-key authentication in the OpenAPI schema so Swagger UI can send the key."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "entitlements.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-Schematic-Api-Key"}


# --- Error responses ---------------------------------------------------------------------------------------------
# Every error of the API has one JSON shape (``core.api.error_body``); the schema says which statuses each operation
# can answer with it, so clients generated from the schema can type their errors.

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API.",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in words."},
        "code": {"type": "string", "description": "A stable code, e.g. `invalid`, `not_found`, `in_use`."},
        "fields": {
            "type": "object",
            "description": "Each bad field (dotted path) with its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["error", "code"],
}

_ERROR_DESCRIPTIONS = {
    "400": "Bad input: `fields` names each bad field and why. Nothing was written.",
    "401": "No API key, or one that is unknown or revoked.",
    "404": "The object named in the path does not exist (or the page asked for is past the last).",
    "409": "The change conflicts with the current state (still in use, or a concurrent change); nothing was written.",
}
_WRITES = {"post", "put", "patch", "delete"}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["400", "404"]
    if operation.get("security"):
        statuses.append("401")
    if method in _WRITES:
        statuses.append("409")
    return statuses


def error_responses_document(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the ``Error`` component, and the error responses of every operation
    (400 and 404 everywhere, 401 where an API key is required, 409 on writes), unless an operation declares its own."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status in _error_statuses(method, operation):
                operation["responses"].setdefault(
                    status, {"description": _ERROR_DESCRIPTIONS[status], "content": error}
                )
    return result

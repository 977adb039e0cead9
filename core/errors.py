"""Domain exceptions raised by services and selectors.

Interfaces (API views, admin, commands) turn them into 4xx responses or form errors; they never leak as 500s.
Each carries a machine-readable ``code`` and, where one input field is at fault, the field's name.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base class: a request that the domain refuses. ``http_status`` is what an API answers with."""

    http_status = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        collected: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        if field is not None:
            collected.setdefault(field, []).append(message)
        self.fields = collected


class ValidationFailed(DomainError):
    """Input that breaks a domain rule (unknown reference, duplicate key, invalid combination)."""

    http_status = 400
    default_code = "invalid"


class NotFound(DomainError):
    """The object named in the request does not exist."""

    http_status = 404
    default_code = "not_found"


class Conflict(DomainError):
    """The request is well-formed but conflicts with the current state (e.g. deleting a plan in use)."""

    http_status = 409
    default_code = "conflict"

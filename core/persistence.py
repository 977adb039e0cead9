"""Saving and deleting model instances with domain errors instead of Django/DB exceptions.

Services call these inside their own ``transaction.atomic`` block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from core.errors import Conflict, ValidationFailed


def text_storable(value: str) -> bool:
    """Whether the database can store or compare ``value``: PostgreSQL text refuses the NUL character."""
    return "\x00" not in value


def validation_failed_from_django(
    error: DjangoValidationError, *, code_fields: Mapping[str, str] | None = None
) -> ValidationFailed:
    """Convert Django's ValidationError to ours; non-field errors with a code in ``code_fields`` move to that field."""
    fields: dict[str, list[str]] = {}
    grouped = error.error_dict.items() if hasattr(error, "error_dict") else [(NON_FIELD_ERRORS, error.error_list)]
    for field, errors in grouped:
        for item in errors:
            name = field
            if field == NON_FIELD_ERRORS:
                name = (code_fields or {}).get(item.code or "", "non_field_errors")
            fields.setdefault(name, []).extend(item.messages)
    summary = "Invalid input: " + ", ".join(sorted(fields))
    return ValidationFailed(summary, fields=fields)


def instance_save_validated(
    instance: models.Model,
    *,
    code_fields: Mapping[str, str] | None = None,
    exclude: list[str] | None = None,
) -> None:
    """Run field validators and database constraints in Python, then save.

    Raises ``ValidationFailed`` naming each bad field. A constraint broken by a concurrent writer between the check and
    the write surfaces as ``Conflict``.
    """
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as error:
        raise validation_failed_from_django(error, code_fields=code_fields) from error
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        raise Conflict(
            "A concurrent change conflicts with this one; read the object again and retry.", code="concurrent_change"
        ) from error


def instance_delete_guarded(instance: models.Model, *, what: str) -> None:
    """Delete, turning a protected or restricted foreign key into ``Conflict`` that names what still uses it."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as error:
        blocking = error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
        raise Conflict(
            f"{what} cannot be deleted: {blocking_describe(blocking)} still refer to it. Remove those first.",
            code="in_use",
        ) from error


_NAMED_AT_MOST = 3  # a kind with more blocking rows than this is only counted


def blocking_describe(objects: Iterable[models.Model]) -> str:
    """What blocks a deletion, in words, by kind: ``1 entitlement (pro → sso), 1 credit account (AI credits: 50) and
    12 credit ledger entries`` (a few are named, more are counted)."""
    by_kind: dict[str, list[models.Model]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj._meta.verbose_name), []).append(obj)
    parts = []
    for _, rows in sorted(by_kind.items()):
        opts = rows[0]._meta
        noun = opts.verbose_name if len(rows) == 1 else opts.verbose_name_plural
        named = f" ({'; '.join(sorted(str(row) for row in rows))})" if len(rows) <= _NAMED_AT_MOST else ""
        parts.append(f"{len(rows)} {noun}{named}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@contextmanager
def atomic_or_conflict() -> Iterator[None]:
    """A transaction whose unique-constraint race (another writer got there first) becomes ``Conflict``."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        raise Conflict(
            "A concurrent change conflicts with this one; read the object again and retry.", code="concurrent_change"
        ) from error


def instance_fields_set(instance: models.Model, changes: Mapping[str, Any], allowed: set[str]) -> None:
    """Set the given fields on ``instance``; ``ValidationFailed`` naming any field a caller may not set."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(
            "Unknown fields.", fields={name: ["This field cannot be set."] for name in sorted(unknown)}
        )
    for name, value in changes.items():
        setattr(instance, name, value)

"""The audit log in the admin: read-only, filterable by door, action, object type and date.

Nobody adds, changes or deletes entries here; staff with the view permission (and superusers) can list and open them.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import ReadOnlyAdmin
from core.models import AuditEntry

_FIELDS: tuple[str, ...] = (
    "created_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "company_id",
    "note",
    "before_json",
    "after_json",
)


def _pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Who changed what, when, from which value to which, and why — to look at, never to edit."""

    list_display = ["created_at", "actor", "action", "target", "company_id"]
    list_filter = ["actor_kind", "action", "target_type"]
    date_hierarchy = "created_at"
    search_fields = ["target_id", "company_id", "actor_label", "note"]
    fields = _FIELDS
    readonly_fields = _FIELDS

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, entry: AuditEntry) -> str:
        return f"{entry.actor_kind}: {entry.actor_label or entry.actor_id or '-'}"

    @admin.display(description="target", ordering="target_id")
    def target(self, entry: AuditEntry) -> str:
        label = f" — {entry.target_label}" if entry.target_label else ""
        return f"{entry.target_type} {entry.target_id}{label}".strip()

    @admin.display(description="before")
    def before_json(self, entry: AuditEntry) -> SafeString:
        return _pretty_json(entry.before)

    @admin.display(description="after")
    def after_json(self, entry: AuditEntry) -> SafeString:
        return _pretty_json(entry.after)

"""The audit log in the admin: read-only, filterable by door, action, object type and date, searchable by a
company's name or key too, each entry's company a link to its page.

Nobody adds, changes or deletes entries here; staff with the view permission (and superusers) can list and open them.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import CsvExportAdmin, ReadOnlyAdmin
from core.audit import audit_company_directory
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
class AuditEntryAdmin(CsvExportAdmin, ReadOnlyAdmin):
    """Who changed what, when, from which value to which, and why — to look at, never to edit."""

    list_display = ["created_at", "actor", "action", "target", "company"]
    list_filter = ["actor_kind", "action", "target_type"]
    date_hierarchy = "created_at"
    search_fields = ["target_id", "target_label", "company_id", "actor_label", "note"]
    fields = _FIELDS
    readonly_fields = _FIELDS
    csv_name = "audit-log"
    csv_columns = (
        ("when (UTC)", lambda e: e.created_at.isoformat()),
        ("door", lambda e: e.actor_kind),
        ("who", lambda e: e.actor_label or e.actor_id),
        ("action", lambda e: e.action),
        ("object type", lambda e: e.target_type),
        ("object id", lambda e: e.target_id),
        ("object", lambda e: e.target_label),
        ("company", lambda e: e.company_id),
        ("before", lambda e: json.dumps(e.before, sort_keys=True, ensure_ascii=False) if e.before else ""),
        ("after", lambda e: json.dumps(e.after, sort_keys=True, ensure_ascii=False) if e.after else ""),
        ("note", lambda e: e.note),
    )

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, entry: AuditEntry) -> str:
        return f"{entry.actor_kind}: {entry.actor_label or entry.actor_id or '-'}"

    @admin.display(description="target", ordering="target_id")
    def target(self, entry: AuditEntry) -> str:
        label = f" — {entry.target_label}" if entry.target_label else ""
        return f"{entry.target_type} {entry.target_id}{label}".strip()

    @admin.display(description="company", ordering="company_id")
    def company(self, entry: AuditEntry) -> str:
        """The company's public id, linking to its page."""
        directory = audit_company_directory()
        if not entry.company_id or directory is None:
            return entry.company_id or "-"
        return format_html('<a href="{}">{}</a>', directory.page_url(entry.company_id), entry.company_id)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        """Besides the fields searched, the entries of every company whose name or a key matches the term."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        directory = audit_company_directory()
        if search_term.strip() and directory is not None:
            companies = list(directory.search(search_term.strip()))
            if companies:
                results = results | queryset.filter(company_id__in=companies)
        return results, may_have_duplicates

    @admin.display(description="before")
    def before_json(self, entry: AuditEntry) -> SafeString:
        return _pretty_json(entry.before)

    @admin.display(description="after")
    def after_json(self, entry: AuditEntry) -> SafeString:
        return _pretty_json(entry.after)

"""Usage in the admin, read-only: the event log, the counters, and flag-check analytics."""

from __future__ import annotations

from django.contrib import admin

from core.admin import CsvExportAdmin, ReadOnlyAdmin
from entitlements.models import FlagCheckRecord, UsageCounter, UsageEvent


@admin.register(UsageEvent)
class UsageEventAdmin(CsvExportAdmin, ReadOnlyAdmin):
    list_display = ["event_name", "company", "quantity", "occurred_at", "received_at", "idempotency_key"]
    list_filter = ["event_name"]
    search_fields = ["company__name", "company__public_id", "event_name", "idempotency_key"]
    list_select_related = ["company"]
    date_hierarchy = "occurred_at"
    csv_name = "usage-events"
    csv_columns = (
        ("occurred (UTC)", lambda e: e.occurred_at.isoformat()),
        ("received (UTC)", lambda e: e.received_at.isoformat()),
        ("company", lambda e: e.company.name),
        ("company id", lambda e: e.company.public_id),
        ("event", lambda e: e.event_name),
        ("quantity", lambda e: e.quantity),
        ("idempotency key", lambda e: e.idempotency_key),
    )


@admin.register(UsageCounter)
class UsageCounterAdmin(ReadOnlyAdmin):
    list_display = ["company", "event_name", "period", "month_reset", "window_start", "value", "updated_at"]
    list_filter = ["event_name", "period", "month_reset"]
    search_fields = ["company__name", "company__public_id", "event_name"]
    list_select_related = ["company"]


@admin.register(FlagCheckRecord)
class FlagCheckRecordAdmin(ReadOnlyAdmin):
    list_display = ["flag_key", "company_public_id", "last_value", "last_checked_at", "check_count", "last_reason"]
    list_filter = ["flag_key", "last_value"]
    search_fields = ["flag_key", "company_public_id"]

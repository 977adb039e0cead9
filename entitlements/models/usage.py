"""Usage: the append-only event log, the counters limits are checked against, and flag-check analytics."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models import MetricPeriod, MonthReset
from entitlements.models.companies import Company, User


class UsageEvent(models.Model):
    """One tracked event as it was accepted. Append-only: corrections are new events with a negative quantity."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="usage_events")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_events")
    event_name = models.CharField(max_length=200)
    quantity = models.BigIntegerField(help_text="Units used; negative for a correction.")
    occurred_at = models.DateTimeField(help_text="When it happened: the server's clock unless a trusted client's.")
    received_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    traits = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # A repeated key counts once, forever, across batches and concurrent requests.
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=Q(idempotency_key__isnull=False), name="usage_event_key_once"
            ),
        ]
        indexes = [models.Index(fields=["company", "event_name", "occurred_at"], name="usage_event_company_time")]

    def __str__(self) -> str:
        return f"{self.event_name} x{self.quantity}"


class UsageCounter(models.Model):
    """The count of one event for one company in one window: what limits are checked against.

    One row per (company, event, period, month reset, window start); ``all_time`` uses a fixed epoch start.
    Updated in the same transaction as the events it counts, never below zero.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="usage_counters")
    event_name = models.CharField(max_length=200)
    period = models.CharField(max_length=16, choices=MetricPeriod.choices)
    month_reset = models.CharField(max_length=16, choices=MonthReset.choices)
    window_start = models.DateTimeField()
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "event_name", "period", "month_reset", "window_start"], name="usage_counter_window"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="usage_counter_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.period}/{self.month_reset} from {self.window_start:%Y-%m-%d}: {self.value}"


class FlagCheckRecord(models.Model):
    """Analytics of checks reported by SDKs: the last check of each flag by each company, and how many."""

    company_public_id = models.CharField(max_length=40, blank=True, help_text="Empty when no company was given.")
    flag_key = models.CharField(max_length=100)
    last_checked_at = models.DateTimeField()
    last_value = models.BooleanField()
    last_reason = models.CharField(max_length=500, blank=True)
    check_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company_public_id", "flag_key"], name="flag_check_record_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.flag_key} by {self.company_public_id or '-'}"

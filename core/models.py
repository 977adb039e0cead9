"""Tables of cross-cutting infrastructure: the audit log."""

from __future__ import annotations

from django.db import models

from core.actors import ActorKind


class AuditEntry(models.Model):
    """Who changed what, when, through which door, from which value to which, and why. Append-only."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=[(kind.value, kind.name.title()) for kind in ActorKind])
    actor_id = models.CharField(max_length=64, blank=True, help_text="Staff user id, API key id, …")
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=100, db_index=True, help_text="e.g. override.granted, plan.updated")
    target_type = models.CharField(max_length=50, db_index=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True, help_text="The public id of the object.")
    target_label = models.CharField(max_length=255, blank=True)
    company_id = models.CharField(
        max_length=40, blank=True, db_index=True, help_text="Public id of the company concerned, if any."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["company_id", "-created_at"], name="audit_company_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_kind}:{self.actor_label} {self.action} {self.target_id}"

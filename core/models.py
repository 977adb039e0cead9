"""Tables of cross-cutting infrastructure: the audit log and the admin jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.actors import ActorKind
from core.public_ids import PublicIdField


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


class AdminJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed"


ADMIN_JOB_ERRORS_KEPT = 100
"""A job keeps the errors of its first this many failed items (the count of failures is always exact)."""


class AdminJob(models.Model):
    """Long admin work (a bulk action over many rows) run item by item by a Celery task, with its progress and
    outcome for people to follow (``core.admin_jobs``). ``done`` counts the items processed, failed or not; ``failed``
    those of them that failed, whose errors (the first ``ADMIN_JOB_ERRORS_KEPT``) are in ``errors`` as
    ``{"item": id, "error": words}``."""

    public_id = PublicIdField(prefix="job")
    kind = models.CharField(
        max_length=100, help_text="The registered kind that runs each item, e.g. entitlements.start_trial."
    )
    title = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The actor every item's write is attributed to (the staff member who confirmed the action), kept as text so the
    # audit log names them even if their account goes.
    actor_kind = models.CharField(max_length=16, choices=[(kind.value, kind.name.title()) for kind in ActorKind])
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=AdminJobStatus.choices, default=AdminJobStatus.QUEUED)
    item_ids = models.JSONField(default=list, help_text="The items to process, in order.")
    params = models.JSONField(default=dict, blank=True, help_text="What every item is done with.")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    result = models.TextField(blank=True, help_text="The summary, once finished.")
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "admin job"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")) & models.Q(failed__lte=models.F("done")),
                name="admin_job_counts_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()}, {self.done}/{self.total})"

    @property
    def is_finished(self) -> bool:
        return self.status in {AdminJobStatus.SUCCEEDED, AdminJobStatus.PARTLY_FAILED, AdminJobStatus.FAILED}

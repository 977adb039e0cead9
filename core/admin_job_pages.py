"""Admin jobs in the admin: a read-only list and page with the progress, status, summary, errors and who started the
job; the page reloads itself every ``ADMIN_JOB_REFRESH_SECONDS`` while the job is queued or running (a ``<meta
http-equiv="refresh">``, no script). Registered by ``CoreConfig.ready`` (it builds on ``core.admin``).

Nobody adds, changes or deletes jobs here: they are started by the actions that need them (``core.admin_jobs``), and
those actions tell the person where to follow theirs (``admin_job_started_message``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.admin import ReadOnlyAdmin
from core.models import AdminJob

ADMIN_JOB_REFRESH_SECONDS = 2

_FIELDS: tuple[str, ...] = (
    "public_id",
    "title",
    "kind",
    "status",
    "progress",
    "result",
    "error_list",
    "started_by",
    "created_at",
    "started_at",
    "finished_at",
)


def admin_job_started_message(modeladmin: admin.ModelAdmin, request: HttpRequest, job: AdminJob, *, items: str) -> None:
    """Tell the person their job started, linking to its page: "Started: <title> for 1,234 <items> — follow it
    here"."""
    url = reverse(f"{modeladmin.admin_site.name}:core_adminjob_change", args=[job.pk])
    text = format_html(
        'Started: {} for {} {} — <a href="{}">follow it here</a>', job.title, f"{job.total:,}", items, url
    )
    modeladmin.message_user(request, text, messages.SUCCESS)


@admin.register(AdminJob)
class AdminJobAdmin(ReadOnlyAdmin):
    """Long admin work and how far it got — to follow, never to edit."""

    list_display = ["title", "status", "progress", "started_by", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["public_id", "title", "actor_label"]
    date_hierarchy = "created_at"
    fields = _FIELDS
    readonly_fields = _FIELDS
    list_select_related = ["created_by"]
    change_form_template = "admin/core/adminjob/change_form.html"

    @admin.display(description="progress")
    def progress(self, job: AdminJob) -> SafeString:
        """A bar of the items processed out of the total, with the numbers (and the failures, if any)."""
        failed = format_html(", {} failed", f"{job.failed:,}") if job.failed else ""
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {}{}',
            job.done,
            job.total or 1,  # an empty job is shown complete, not as an indeterminate bar
            f"{job.done:,}",
            f"{job.total:,}",
            failed,
        )

    @admin.display(description="errors")
    def error_list(self, job: AdminJob) -> SafeString | str:
        """Each failed item (up to the number kept) with its error in words."""
        if not job.errors:
            return "—"
        rows = ((error.get("item", ""), error.get("error", "")) for error in job.errors)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>item {}: {}</li>", rows))

    @admin.display(description="started by", ordering="actor_label")
    def started_by(self, job: AdminJob) -> str:
        return job.actor_label or (job.created_by.get_username() if job.created_by else "—")

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: AdminJob | None = None,
    ) -> HttpResponse:
        context["refresh_seconds"] = ADMIN_JOB_REFRESH_SECONDS if obj is not None and not obj.is_finished else None
        return super().render_change_form(request, context, add, change, form_url, obj)

"""Celery tasks of ``core``: running admin jobs (``core.admin_jobs`` enqueues them after commit)."""

from __future__ import annotations

from celery import shared_task

from core.admin_job_kinds import admin_job_run


@shared_task(name="core.admin_job_run")
def admin_job_run_task(job_id: int) -> None:
    """Run the queued admin job ``job_id`` (``core.admin_job_kinds.admin_job_run``). No retry: items are not safe to
    run twice, so a job that is not queued any more (already run, or running) is left alone."""
    admin_job_run(job_id=job_id)

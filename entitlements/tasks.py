"""Celery tasks: one per periodic job of ``entitlements.jobs.table`` (beat schedules them: ``config.celery``)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from entitlements.datastream.window_resets import next_window_boundary
from entitlements.jobs.table import PERIODIC_JOBS, PeriodicJob


def _job_task(job: PeriodicJob) -> Task[Any, Any]:
    """The task that runs ``job`` as of the moment it starts."""

    @shared_task(name=f"entitlements.{job.name}")
    def run() -> dict[str, int]:
        return job.run(timezone.now())

    run.__doc__ = f"Run the periodic job {job.name!r} now."
    return run


@shared_task(name="entitlements.datastream_window_resets", bind=True)
def datastream_window_resets(self: Any) -> dict[str, int]:
    """Push the metric windows that ended to connected SDKs, and run again at the next boundary if it comes before
    beat's next run (so a midnight reset reaches SDKs at midnight, not up to a minute later)."""
    now = timezone.now()
    changed = _WINDOW_RESETS.run(now)
    boundary = next_window_boundary(after=now)
    if (boundary - now).total_seconds() <= _WINDOW_RESETS.every_seconds:
        self.apply_async(eta=boundary)
    return changed


_WINDOW_RESETS = next(job for job in PERIODIC_JOBS if job.name == "datastream_window_resets")
JOB_TASKS: dict[str, Task[Any, Any]] = {
    job.name: datastream_window_resets if job is _WINDOW_RESETS else _job_task(job) for job in PERIODIC_JOBS
}
"""The task of each periodic job, by job name."""

"""Celery application. With ``REDIS_URL`` unset, tasks run eagerly in-process (settings).

Beat's schedule is the periodic jobs table (``entitlements.jobs.table.PERIODIC_JOBS``), so a job is declared once.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_jobs(sender: Celery, **kwargs: Any) -> None:
    from entitlements.jobs.table import PERIODIC_JOBS

    for job in PERIODIC_JOBS:  # by task name: finalizing may happen while entitlements.tasks is being imported
        sender.add_periodic_task(
            job.every_seconds, sender.signature(f"entitlements.{job.name}"), name=job.name.replace("_", "-")
        )

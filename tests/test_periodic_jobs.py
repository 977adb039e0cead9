"""The periodic jobs are declared once (``entitlements.jobs.table``): beat schedules, and Celery runs, exactly those."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from config.celery import app
from entitlements.jobs.table import PERIODIC_JOBS, periodic_jobs_run
from entitlements.tasks import JOB_TASKS


def test_beat_schedule__one_entry_per_job__every_job_its_interval() -> None:
    app.finalize()
    scheduled = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert scheduled == {f"entitlements.{job.name}": job.every_seconds for job in PERIODIC_JOBS}
    assert {name: task.name for name, task in JOB_TASKS.items()} == {
        job.name: f"entitlements.{job.name}" for job in PERIODIC_JOBS
    }


@pytest.mark.django_db
def test_each_task__runs_its_job__and_reports_what_changed() -> None:
    results = {name: task.apply().get() for name, task in JOB_TASKS.items()}
    combined = periodic_jobs_run(now=timezone.now() + dt.timedelta(seconds=1))
    assert {key for result in results.values() for key in result} == set(combined)
    assert results["overrides_expire"] == {"overrides_expired": 0}

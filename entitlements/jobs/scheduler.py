"""The periodic jobs in a thread of the web server (``PERIODIC_JOBS_IN_SERVER``, on by default on the embedded
defaults), where the in-memory channel layer only reaches the connections of its own process.

It runs ``periodic_jobs_run`` every ``every`` seconds and wakes in between at each metric-window boundary, so a
midnight reset reaches connected SDKs at midnight. Production runs the same jobs with Celery beat instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.db import close_old_connections
from django.utils import timezone

from entitlements.datastream.window_resets import next_window_boundary, window_resets_push_due
from entitlements.jobs.table import periodic_jobs_run

logger = logging.getLogger(__name__)


class InServerScheduler:
    """A daemon thread running the periodic jobs until ``stop``."""

    def __init__(self, *, every: float = 60.0) -> None:
        self.every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        next_jobs = timezone.now()
        while not self._stopping.is_set():
            now = timezone.now()
            wake = now + dt.timedelta(seconds=self.every)  # after a failure: try again in a while, not at once
            try:
                if now >= next_jobs:
                    changed = periodic_jobs_run(now=now)
                    logger.info("periodic jobs ran", extra={"changed": changed})
                    next_jobs = now + dt.timedelta(seconds=self.every)
                else:
                    window_resets_push_due(now=now)
                wake = min(next_jobs, next_window_boundary(after=now))
            except Exception:  # a failing job must not stop the others, nor the next run
                logger.exception("periodic jobs failed")
            finally:
                close_old_connections()
            self._stopping.wait(max(0.0, (wake - timezone.now()).total_seconds()))

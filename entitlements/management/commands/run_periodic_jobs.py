"""``python manage.py run_periodic_jobs [--every SECONDS]``: the periodic jobs without Celery (embedded default)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from entitlements.jobs.table import periodic_jobs_run


class Command(BaseCommand):
    help = "Run every periodic job that is due (entitlements.jobs.table). With --every, repeat until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="Run again every N seconds (0: once).")

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        while True:
            changed = periodic_jobs_run(now=timezone.now())
            summary = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in changed.items())
            self.stdout.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} {summary}")
            if every <= 0:
                return
            time.sleep(every)

"""Celery tasks: thin wrappers that read the clock and call the job functions (``entitlements.jobs.table``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from credits.jobs import credit_grants_expire_due
from entitlements.datastream.window_resets import next_window_boundary, window_resets_push_due
from entitlements.jobs.table import JOB_ACTOR
from entitlements.services.overrides import overrides_expire_due
from entitlements.services.plan_credits import plan_credits_grant_due
from entitlements.services.trials import trials_end_due

# Beat runs the window-resets task this often; boundaries that fall in between are scheduled at their instant.
WINDOW_RESETS_BEAT_SECONDS = 60


@shared_task(name="entitlements.overrides_expire")
def overrides_expire() -> int:
    """Mark overrides past their expiry as expired (checks already ignore them)."""
    return overrides_expire_due(actor=JOB_ACTOR, now=timezone.now())


@shared_task(name="entitlements.trials_end")
def trials_end() -> dict[str, int]:
    """Convert or end the trials that are due."""
    ended = trials_end_due(actor=JOB_ACTOR, now=timezone.now())
    return {"converted": ended.converted, "moved_to_fallback": ended.moved_to_fallback}


@shared_task(name="entitlements.credits_periodic")
def credits_periodic() -> dict[str, int]:
    """Write off expired credit grants (carrying over rollovers), then grant plan credits for new periods."""
    now = timezone.now()
    expired = credit_grants_expire_due(actor=JOB_ACTOR, now=now)
    granted = plan_credits_grant_due(actor=JOB_ACTOR, now=now)
    return {"expired": expired.expired, "rolled_over": expired.rolled_over, "granted": granted}


@shared_task(name="entitlements.datastream_window_resets", bind=True)
def datastream_window_resets(self: Any) -> int:
    """Push the metric windows that ended to connected SDKs, and run again at the next boundary if it comes before
    beat's next run (so a midnight reset reaches SDKs at midnight, not up to a minute later)."""
    now = timezone.now()
    pushed = window_resets_push_due(now=now)
    boundary = next_window_boundary(after=now)
    if (boundary - now).total_seconds() <= WINDOW_RESETS_BEAT_SECONDS:
        self.apply_async(eta=boundary)
    return pushed

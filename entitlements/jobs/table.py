"""The periodic jobs, written once: the in-server scheduler, ``manage.py run_periodic_jobs`` and Celery beat (one
task per job, ``entitlements.tasks``, scheduled by ``config.celery``) all read ``PERIODIC_JOBS``.

Every job is idempotent and safe when two runs overlap (each due row is locked and re-checked), so running one twice,
or the in-server scheduler beside beat, changes nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from core.actors import Actor, ActorKind
from credits.jobs import credit_grants_expire_due
from entitlements.datastream.window_resets import window_resets_push_due
from entitlements.services.overrides import overrides_expire_due
from entitlements.services.plan_credits import plan_credits_grant_due
from entitlements.services.trials import trials_end_due

JOB_ACTOR = Actor(kind=ActorKind.SYSTEM, label="periodic job")


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """One job: ``run(now)`` does what is due at ``now`` and says how much it changed, by name. ``name`` is the
    Celery task's (``entitlements.<name>``) and beat runs it every ``every_seconds``."""

    name: str
    run: Callable[[dt.datetime], dict[str, int]]
    every_seconds: float = 60.0


def _trials_end(now: dt.datetime) -> dict[str, int]:
    ended = trials_end_due(actor=JOB_ACTOR, now=now)
    return {"trials_converted": ended.converted, "trials_moved_to_fallback": ended.moved_to_fallback}


def _credits(now: dt.datetime) -> dict[str, int]:
    expired = credit_grants_expire_due(actor=JOB_ACTOR, now=now)  # before granting: rollovers land first
    return {
        "credit_grants_expired": expired.expired,
        "credit_grants_rolled_over": expired.rolled_over,
        "plan_credits_granted": plan_credits_grant_due(actor=JOB_ACTOR, now=now),
    }


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("trials_end", _trials_end),
    PeriodicJob("overrides_expire", lambda now: {"overrides_expired": overrides_expire_due(actor=JOB_ACTOR, now=now)}),
    PeriodicJob("credits_periodic", _credits),
    # Also scheduled by its task for the exact boundary instants that fall before beat's next run.
    PeriodicJob("datastream_window_resets", lambda now: {"window_resets_pushed": window_resets_push_due(now=now)}),
)
"""Every periodic job, in the order a combined run takes them."""


def periodic_jobs_run(*, now: dt.datetime) -> dict[str, int]:
    """Run every job once as of ``now`` (end trials, expire overrides, write off expired credits with rollovers and
    grant plan credits for the periods that began, push the metric windows that ended); returns what each changed."""
    changed: dict[str, int] = {}
    for job in PERIODIC_JOBS:
        changed.update(job.run(now))
    return changed

"""The periodic jobs of the entitlements app, as plain functions: run by Celery beat (``entitlements.tasks``) in
production and by ``manage.py run_periodic_jobs`` on the embedded default."""

from __future__ import annotations

import datetime as dt

from core.actors import Actor, ActorKind
from credits.jobs import credit_grants_expire_due
from entitlements.datastream.window_resets import window_resets_push_due
from entitlements.services.overrides import overrides_expire_due
from entitlements.services.plan_credits import plan_credits_grant_due
from entitlements.services.trials import trials_end_due

JOB_ACTOR = Actor(kind=ActorKind.SYSTEM, label="periodic job")


def periodic_jobs_run(*, now: dt.datetime) -> dict[str, int]:
    """Expire overrides past their end, end trials past theirs, write off expired credits (with rollovers), grant
    plan credits for the periods that began, and push the metric windows that ended to connected SDKs; returns what
    each job changed."""
    trials = trials_end_due(actor=JOB_ACTOR, now=now)
    credits_expired = credit_grants_expire_due(actor=JOB_ACTOR, now=now)
    return {
        "overrides_expired": overrides_expire_due(actor=JOB_ACTOR, now=now),
        "trials_converted": trials.converted,
        "trials_moved_to_fallback": trials.moved_to_fallback,
        "credit_grants_expired": credits_expired.expired,
        "credit_grants_rolled_over": credits_expired.rolled_over,
        "plan_credits_granted": plan_credits_grant_due(actor=JOB_ACTOR, now=now),
        "window_resets_pushed": window_resets_push_due(now=now),
    }

"""Starting admin jobs: long admin work (a bulk action over many rows) recorded as an ``AdminJob`` and run item by
item by a Celery task after the request, while the job's page shows its progress.

What each kind does, and how a job runs, is ``core.admin_job_kinds``; the task is ``core.tasks.admin_job_run_task``;
the pages are ``core.admin_job_pages``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.contrib.auth.models import User as StaffUser
from django.db import transaction

from core.actors import Actor
from core.admin_job_kinds import AdminJobItemId, admin_job_kind_registered
from core.audit import audit_record
from core.errors import ValidationFailed
from core.models import AdminJob
from core.tasks import admin_job_run_task

logger = logging.getLogger(__name__)


def admin_job_start(
    *,
    kind: str,
    title: str,
    item_ids: Sequence[AdminJobItemId],
    params: Mapping[str, Any],
    created_by: StaffUser | None,
    actor: Actor,
) -> AdminJob:
    """Record a queued job of ``kind`` over ``item_ids`` (processed in that order, each with ``params``: JSON values),
    audit who started it, and hand it to a Celery worker once the transaction commits.

    ``actor`` is who every item's write is attributed to (the staff member ``created_by``, as ``core.admin.admin_actor``
    names them); the job re-checks no permission, so the caller has checked them. On the embedded defaults Celery runs
    tasks eagerly: the job then runs in this process, right after the commit, before this call returns to a caller
    outside a transaction. Raises ``ValidationFailed`` for a kind not registered in this process.
    """
    if not admin_job_kind_registered(kind):
        raise ValidationFailed(f"Unknown admin job kind {kind!r}.", field="kind")
    with transaction.atomic():
        job = AdminJob.objects.create(
            kind=kind,
            title=title[:255],
            created_by=created_by,
            actor_kind=actor.kind.value,
            actor_id=actor.identifier[:64],
            actor_label=actor.label[:255],
            item_ids=list(item_ids),
            params=dict(params),
            total=len(item_ids),
        )
        audit_record(
            actor=actor,
            action="admin_job.started",
            target=job,
            target_label=job.title,
            after={"kind": kind, "total": job.total},
        )
        # After commit: a worker must find the job row, and a rolled-back request starts nothing.
        transaction.on_commit(partial(admin_job_run_task.delay, job.pk))
    logger.info(
        "admin job started", extra={"actor": str(actor), "job": job.public_id, "kind": kind, "total": job.total}
    )
    return job

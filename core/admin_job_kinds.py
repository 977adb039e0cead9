"""The kinds of admin job, and how one job runs (``core.admin_jobs`` starts jobs, ``core.tasks`` runs them).

An app declares what one item of a kind does::

    @admin_job_kind("entitlements.start_trial")
    def trial_start_item(job: AdminJob, item_id: AdminJobItemId, params: dict[str, Any]) -> str: ...

The function processes one item through the app's services, with ``admin_job_actor(job)`` as the actor, and returns
its outcome in a few words ("revoked", "now trialing Pro"), which the job's summary counts. When the item cannot be
done it raises: a ``DomainError``'s message is recorded as the item's error; anything else is logged with its
traceback and recorded as an unexpected error. Either way the other items go on.

A kind is registered when the module declaring it is imported; the entitlements kinds are imported by the admin
modules that start them, which Django imports at setup in every process (web and Celery workers alike).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorKind
from core.errors import DomainError
from core.models import ADMIN_JOB_ERRORS_KEPT, AdminJob, AdminJobStatus

logger = logging.getLogger(__name__)

AdminJobItemId = int | str
"""An item is named by a JSON-storable id (for model rows, the primary key)."""

AdminJobItem = Callable[[AdminJob, AdminJobItemId, dict[str, Any]], str]
"""What one item of a kind does: ``(job, item_id, params) -> outcome in words``."""

_Item = TypeVar("_Item", bound=AdminJobItem)
_KINDS: dict[str, AdminJobItem] = {}


def admin_job_kind(name: str) -> Callable[[_Item], _Item]:
    """Register the decorated function as what one item of the job kind ``name`` does.

    A name belongs to one function: registering another function under a taken name raises ``ValueError`` (the same
    function imported again replaces itself).
    """

    def register(function: _Item) -> _Item:
        taken = _KINDS.get(name)
        if taken is not None and _qualified_name(taken) != _qualified_name(function):
            raise ValueError(f"Admin job kind {name!r} is already registered to {_qualified_name(taken)}.")
        _KINDS[name] = function
        return function

    return register


def admin_job_kind_registered(name: str) -> bool:
    """Whether a job of kind ``name`` can run in this process."""
    return name in _KINDS


def admin_job_actor(job: AdminJob) -> Actor:
    """The actor every write of ``job`` is attributed to: whoever started it, as recorded when it started."""
    return Actor(kind=ActorKind(job.actor_kind), identifier=job.actor_id, label=job.actor_label)


def _qualified_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _error_in_words(error: Exception) -> str:
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, ObjectDoesNotExist):  # a row the item needed went away while it ran
        return f"Not found: {error}"
    return f"Unexpected error ({type(error).__name__}): {error}"


def admin_job_run(*, job_id: int) -> AdminJob | None:
    """Run the queued job ``job_id`` item by item and return it finished; ``None`` when it is not queued (already run,
    or running elsewhere), so a task delivered twice runs the job once.

    Each item runs in its own transaction: one that fails is rolled back alone and its error is recorded in words, the
    others are kept. ``done`` (items processed, failed or not) and ``failed`` are saved after every item, outside any
    item's transaction, so the job's page shows the progress while it runs. The job ends *succeeded* (no item
    failed), *partly failed* or *failed* (every item failed, or the kind is unknown here), with a summary that counts
    the items' outcomes.
    """
    claimed = AdminJob.objects.filter(pk=job_id, status=AdminJobStatus.QUEUED).update(
        status=AdminJobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.info("admin job not queued: left alone", extra={"job_id": job_id})
        return None
    job = AdminJob.objects.get(pk=job_id)
    run_item = _KINDS.get(job.kind)
    if run_item is None:
        return _finish(job, status=AdminJobStatus.FAILED, result=f"Nothing was done: unknown job kind {job.kind!r}.")
    outcomes: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    done = failed = 0
    try:
        for item_id in job.item_ids:
            progress: dict[str, Any] = {}
            try:
                with transaction.atomic():
                    outcome = run_item(job, item_id, job.params)
            except Exception as error:  # one item's failure, whatever it is, must not stop the others
                if not isinstance(error, DomainError | ObjectDoesNotExist):
                    logger.exception("admin job item failed", extra={"job": job.public_id, "item": item_id})
                failed += 1
                if len(errors) < ADMIN_JOB_ERRORS_KEPT:
                    errors.append({"item": item_id, "error": _error_in_words(error)})
                    progress["errors"] = errors
            else:
                outcomes[outcome] += 1
            done += 1
            # One small UPDATE per item: the page's progress is exact, at a cost far below the item's own writes.
            AdminJob.objects.filter(pk=job.pk).update(done=done, failed=failed, **progress)
    except Exception:
        # Only the job's own bookkeeping (the database going away) lands here: say where it stopped, then let the
        # task fail visibly.
        job.done, job.failed, job.errors = done, failed, errors
        _finish(job, status=AdminJobStatus.FAILED, result=f"Stopped after {done:,} of {job.total:,} items.")
        raise
    job.done, job.failed, job.errors = done, failed, errors
    if failed == 0:
        status = AdminJobStatus.SUCCEEDED
    elif failed == done:
        status = AdminJobStatus.FAILED
    else:
        status = AdminJobStatus.PARTLY_FAILED
    return _finish(job, status=status, result=_summary(outcomes=outcomes, failed=failed))


def _summary(*, outcomes: Counter[str], failed: int) -> str:
    """ "1,231 now trialing Pro; 3 failed." — each outcome counted, most frequent first."""
    parts = [f"{count:,} {outcome}" for outcome, count in outcomes.most_common()]
    if failed:
        kept = f" (the first {ADMIN_JOB_ERRORS_KEPT:,} errors are listed)" if failed > ADMIN_JOB_ERRORS_KEPT else ""
        parts.append(f"{failed:,} failed{kept}")
    return ("; ".join(parts) or "Nothing to do") + "."


def _finish(job: AdminJob, *, status: AdminJobStatus, result: str) -> AdminJob:
    job.status, job.result, job.finished_at = status, result, timezone.now()
    job.save(update_fields=["status", "result", "finished_at", "done", "failed", "errors"])
    logger.info(
        "admin job finished",
        extra={"job": job.public_id, "kind": job.kind, "status": status, "done": job.done, "failed": job.failed},
    )
    return job

"""How an admin job runs (``core.admin_job_kinds.admin_job_run``), with kinds of its own: each item in its own
transaction, failures recorded in words without stopping the others, the errors kept capped, a job run once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from core.actors import Actor, ActorKind
from core.admin_job_kinds import AdminJobItemId, admin_job_actor, admin_job_kind, admin_job_run
from core.admin_jobs import admin_job_start
from core.errors import Conflict, ValidationFailed
from core.models import ADMIN_JOB_ERRORS_KEPT, AdminJob, AdminJobStatus

pytestmark = pytest.mark.django_db

_ACTOR = Actor(kind=ActorKind.ADMIN, identifier="7", label="ada")
_seen_actors: list[Actor] = []


@admin_job_kind("tests.group_create")
def _group_create(job: AdminJob, item_id: AdminJobItemId, params: dict[str, Any]) -> str:
    """Creates a group named after the item, then fails as the item says: a write that a failure must roll back."""
    _seen_actors.append(admin_job_actor(job))
    Group.objects.create(name=f"{params['prefix']}{item_id}")
    if item_id == "refused":
        raise Conflict("The group is in use.")
    if item_id == "bug":
        raise ZeroDivisionError("division by zero")
    return "created"


def _start(item_ids: list[AdminJobItemId], kind: str = "tests.group_create") -> AdminJob:
    # Outside ``admin_job_start``'s commit: the test's transaction never commits, so the task is run by hand.
    return admin_job_start(
        kind=kind, title="Create groups", item_ids=item_ids, params={"prefix": "g-"}, created_by=None, actor=_ACTOR
    )


def test_run__every_item_succeeds__succeeded_with_outcomes_counted_and_the_starter_as_actor() -> None:
    _seen_actors.clear()
    job = _start(["a", "b"])
    finished = admin_job_run(job_id=job.pk)
    assert finished is not None
    assert (finished.status, finished.done, finished.failed, finished.result) == ("succeeded", 2, 0, "2 created.")
    assert set(Group.objects.filter(name__startswith="g-").values_list("name", flat=True)) == {"g-a", "g-b"}
    assert _seen_actors == [_ACTOR, _ACTOR]


def test_run__failing_items__each_rolled_back_alone_with_its_error_in_words() -> None:
    job = _start(["a", "refused", "bug", "b"])
    finished = admin_job_run(job_id=job.pk)
    assert finished is not None
    assert (finished.status, finished.done, finished.failed) == (AdminJobStatus.PARTLY_FAILED, 4, 2)
    assert finished.errors == [
        {"item": "refused", "error": "The group is in use."},
        {"item": "bug", "error": "Unexpected error (ZeroDivisionError): division by zero"},
    ]
    assert finished.result == "2 created; 2 failed."
    # the failed items' groups were rolled back with them; the others are kept
    assert set(Group.objects.filter(name__startswith="g-").values_list("name", flat=True)) == {"g-a", "g-b"}


def test_run__every_item_fails__failed() -> None:
    finished = admin_job_run(job_id=_start(["refused"]).pk)
    assert finished is not None and finished.status == AdminJobStatus.FAILED


def test_run__more_failures_than_kept__count_exact_errors_capped() -> None:
    finished = admin_job_run(job_id=_start(["refused"] * (ADMIN_JOB_ERRORS_KEPT + 5)).pk)
    assert finished is not None
    assert finished.failed == ADMIN_JOB_ERRORS_KEPT + 5
    assert len(finished.errors) == ADMIN_JOB_ERRORS_KEPT
    assert (
        finished.result == f"{ADMIN_JOB_ERRORS_KEPT + 5} failed (the first {ADMIN_JOB_ERRORS_KEPT} errors are listed)."
    )


def test_run__twice__the_second_run_does_nothing() -> None:
    job = _start(["a"])
    assert admin_job_run(job_id=job.pk) is not None
    assert admin_job_run(job_id=job.pk) is None  # a task delivered twice
    assert Group.objects.filter(name="g-a").count() == 1


def test_run__no_items__succeeded_with_nothing_to_do() -> None:
    finished = admin_job_run(job_id=_start([]).pk)
    assert finished is not None and (finished.status, finished.result) == (AdminJobStatus.SUCCEEDED, "Nothing to do.")


def test_run__kind_unknown_in_this_process__failed_and_says_so() -> None:
    job = _start(["a"])
    AdminJob.objects.filter(pk=job.pk).update(kind="tests.gone")
    finished = admin_job_run(job_id=job.pk)
    assert finished is not None
    assert (finished.status, finished.done) == (AdminJobStatus.FAILED, 0)
    assert "unknown job kind 'tests.gone'" in finished.result


def test_start__unregistered_kind__refused_and_nothing_recorded() -> None:
    with pytest.raises(ValidationFailed) as refused:
        _start(["a"], kind="tests.unknown")
    assert refused.value.fields == {"kind": ["Unknown admin job kind 'tests.unknown'."]}
    assert not AdminJob.objects.exists()


def test_kind__another_function_under_a_taken_name__refused() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @admin_job_kind("tests.group_create")
        def _other(job: AdminJob, item_id: AdminJobItemId, params: dict[str, Any]) -> str:
            return "other"

"""Bulk admin actions over more rows than ``ADMIN_BULK_INLINE_LIMIT`` run as an admin job: a Celery task (eager on
the embedded defaults, after the request's commit) that processes the selection item by item, while the job's page
shows the progress, the outcome and the errors; below the limit the action runs in the request as before.

The tests post the real changelist actions through the confirmation, and run the task the way production does: the
callbacks the request registered for after its commit (``django_capture_on_commit_callbacks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from config.celery import app
from core.actors import SYSTEM_ACTOR
from core.models import AdminJob, AdminJobStatus, AuditEntry
from core.permissions import SUPPORT
from core.tasks import admin_job_run_task
from entitlements.models import Company, CompanyOverride, OverrideState, Subscription, SubscriptionStatus
from entitlements.services.companies import company_delete

pytestmark = pytest.mark.django_db

_COMPANIES = ("umbrella", "initech", "vandelay")  # Free, trialing Pro, canceled: none paying
_NOTE = "Spring campaign: everyone on the waiting list tries Pro"


@pytest.fixture(autouse=True)
def _low_inline_limit(settings: Any) -> None:
    settings.ADMIN_BULK_INLINE_LIMIT = 2


def _company(external_id: str) -> Company:
    return Company.objects.get(keys__value=external_id)


def _live(company: Company) -> Subscription:
    return Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).get(company=company)


def _post_trial(client: Client, companies: list[Company]) -> Any:
    return client.post(
        reverse("admin:entitlements_company_changelist"),
        {
            "action": "start_trial_pro",
            "index": "0",
            "_selected_action": [str(company.pk) for company in companies],
            "confirm": "yes",
            "note": _NOTE,
        },
    )


def _post_revoke(client: Client, overrides: list[CompanyOverride], note: str = "Campaign over") -> Any:
    return client.post(
        reverse("admin:entitlements_companyoverride_changelist"),
        {
            "action": "revoke",
            "index": "0",
            "_selected_action": [str(override.pk) for override in overrides],
            "confirm": "yes",
            "note": note,
        },
    )


def _job_url(job: AdminJob) -> str:
    return reverse("admin:core_adminjob_change", args=[job.pk])


def _worker() -> None:
    """What a Celery worker does with the jobs sent to it. On the embedded defaults the task ran eagerly at commit;
    with Redis as the broker its message waits for a worker, so the task runs here as the worker would run it
    (``Task.apply``: the task's own code, in this process)."""
    if app.conf.task_always_eager:
        return
    for job_id in AdminJob.objects.filter(status=AdminJobStatus.QUEUED).values_list("pk", flat=True):
        admin_job_run_task.apply(kwargs={"job_id": job_id})


def _run(callbacks: list[Callable[[], Any]]) -> None:
    """What the database does at commit: the callbacks registered for after it, in order (the job's task among them),
    then the worker."""
    for callback in callbacks:
        callback()
    _worker()


@contextmanager
def _committed(capture: Any) -> Iterator[None]:
    """The request's transaction commits (its after-commit callbacks run), then the worker takes the jobs sent."""
    with capture(execute=True):
        yield
    _worker()


def test_trial_action__more_companies_than_the_limit__runs_as_a_job_that_starts_every_trial(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given three companies selected on the company list, one more than the limit
    companies = [_company(external_id) for external_id in _COMPANIES]
    # When the trial action is confirmed, and the request commits
    with _committed(django_capture_on_commit_callbacks):
        response = _post_trial(admin_on_demo, companies)
    # Then a job was started and has run: every company trials Pro, each trial audited as the staff member
    assert response.status_code == 302
    job = AdminJob.objects.get()
    assert (job.kind, job.title, job.total) == ("entitlements.start_trial", "Start a 14-day trial of Pro", 3)
    assert job.created_by is not None and job.created_by.get_username() == "root"
    assert (job.status, job.done, job.failed, job.errors) == (AdminJobStatus.SUCCEEDED, 3, 0, [])
    assert job.result == "3 now trialing Pro."
    assert job.started_at is not None and job.finished_at is not None
    for company in companies:
        assert (_live(company).plan.key, _live(company).status) == ("pro", SubscriptionStatus.TRIALING)
        entry = AuditEntry.objects.get(action="trial.started", company_id=company.public_id, actor_label="root")
        assert (entry.actor_kind, entry.note) == ("admin", _NOTE)
    assert AuditEntry.objects.get(action="admin_job.started").target_id == job.public_id
    # … and the person was told where to follow it
    page = admin_on_demo.get(response["Location"]).content.decode()
    assert (
        f'Started: Start a 14-day trial of Pro for 3 companies — <a href="{_job_url(job)}">follow it here</a>' in page
    )


def test_job_page__while_queued__refreshes_itself__and_once_finished__shows_the_outcome(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a trial job started but not yet run (the request has not committed)
    with django_capture_on_commit_callbacks() as callbacks:
        _post_trial(admin_on_demo, [_company(external_id) for external_id in _COMPANIES])
    job = AdminJob.objects.get()
    assert job.status == AdminJobStatus.QUEUED
    # Then its page shows no progress yet and reloads itself every 2 seconds
    page = admin_on_demo.get(_job_url(job)).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress value="0" max="3"></progress> 0 / 3' in page and "Queued" in page
    # When the job runs
    _run(callbacks)
    # Then the page shows it complete, with the summary and who started it, and stops reloading
    page = admin_on_demo.get(_job_url(job)).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert '<progress value="3" max="3"></progress> 3 / 3' in page
    assert "Succeeded" in page and "3 now trialing Pro." in page
    assert '<div class="readonly">root</div>' in page  # who started it
    assert 'name="_save"' not in page  # to follow, never to edit
    # … and the jobs list shows it with its progress
    listing = admin_on_demo.get(reverse("admin:core_adminjob_changelist")).content.decode()
    assert "Start a 14-day trial of Pro" in listing and '<progress value="3" max="3">' in listing


def test_trial_job__a_company_deleted_before_it_runs__partly_failed_with_the_error_in_words(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a trial job over three companies, one of which is deleted before the job runs
    companies = [_company(external_id) for external_id in _COMPANIES]
    with django_capture_on_commit_callbacks() as callbacks:
        _post_trial(admin_on_demo, companies)
    gone = companies[0].pk
    company_delete(actor=SYSTEM_ACTOR, company=companies[0])
    # When it runs
    _run(callbacks)
    # Then the two others trial Pro, and the job says which item failed and why
    job = AdminJob.objects.get()
    assert (job.status, job.done, job.failed) == (AdminJobStatus.PARTLY_FAILED, 3, 1)
    assert job.errors == [{"item": gone, "error": f"Company {gone} no longer exists."}]
    assert job.result == "2 now trialing Pro; 1 failed."
    for company in companies[1:]:
        assert _live(company).status == SubscriptionStatus.TRIALING
    page = admin_on_demo.get(_job_url(job)).content.decode()
    assert "Partly failed" in page and f"item {gone}: Company {gone} no longer exists." in page
    assert "2 now trialing Pro; 1 failed." in page


def test_revoke_action__more_overrides_than_the_limit__runs_as_a_job_that_revokes_each(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given the demo's three overrides in force, one more than the limit
    overrides = list(CompanyOverride.objects.filter(state=OverrideState.ACTIVE).order_by("pk"))
    assert len(overrides) == 3
    # When the revoke action is confirmed with a reason, and the request commits
    with _committed(django_capture_on_commit_callbacks):
        response = _post_revoke(admin_on_demo, overrides)
    # Then a job revoked all three, each audited as the staff member with the reason
    job = AdminJob.objects.get()
    assert (job.kind, job.status, job.done, job.failed) == ("entitlements.revoke_override", "succeeded", 3, 0)
    assert job.result == "3 revoked."
    for override in overrides:
        override.refresh_from_db()
        assert override.state == OverrideState.REVOKED
        entry = AuditEntry.objects.get(action="override.revoked", target_id=override.public_id)
        assert (entry.actor_kind, entry.actor_label, entry.note) == ("admin", "root", "Campaign over")
    page = admin_on_demo.get(response["Location"]).content.decode()
    assert f'Started: Revoke overrides for 3 overrides — <a href="{_job_url(job)}">follow it here</a>' in page


def test_revoke_job__a_company_deleted_before_it_runs__partly_failed_and_the_others_revoked(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a revoke job over the three overrides; the company of one is deleted (with its overrides) before it runs
    overrides = list(CompanyOverride.objects.filter(state=OverrideState.ACTIVE).order_by("pk"))
    with django_capture_on_commit_callbacks() as callbacks:
        _post_revoke(admin_on_demo, overrides)
    gone = overrides[1]
    company_delete(actor=SYSTEM_ACTOR, company=gone.company)
    # When it runs
    _run(callbacks)
    # Then the other two are revoked and the job names the one it could not do
    job = AdminJob.objects.get()
    assert (job.status, job.done, job.failed, job.result) == (
        AdminJobStatus.PARTLY_FAILED,
        3,
        1,
        "2 revoked; 1 failed.",
    )
    assert job.errors == [{"item": gone.pk, "error": f"Override {gone.pk} no longer exists (its company was deleted)."}]
    remaining = CompanyOverride.objects.filter(pk__in=[overrides[0].pk, overrides[2].pk])
    assert set(remaining.values_list("state", flat=True)) == {OverrideState.REVOKED}


def test_revoke_job__an_override_revoked_meanwhile__left_as_it_is_not_failed(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a revoke job over the three overrides; one is revoked on its own before the job runs
    overrides = list(CompanyOverride.objects.filter(state=OverrideState.ACTIVE).order_by("pk"))
    with django_capture_on_commit_callbacks() as callbacks:
        _post_revoke(admin_on_demo, overrides)
    with _committed(django_capture_on_commit_callbacks):
        _post_revoke(admin_on_demo, overrides[:1], note="Ended early")  # within the limit: revoked in the request
    # When the job runs
    _run(callbacks)
    # Then that one is left as it was (as the confirmation promised), the others revoked, and nothing failed
    job = AdminJob.objects.get()
    assert (job.status, job.failed) == (AdminJobStatus.SUCCEEDED, 0)
    assert job.result == "2 revoked; 1 no longer in force, left as is."
    assert AuditEntry.objects.get(action="override.revoked", target_id=overrides[0].public_id).note == "Ended early"


def test_trial_action__within_the_limit__runs_in_the_request_as_before(admin_on_demo: Client) -> None:
    # Given two companies selected, as many as the limit
    companies = [_company(external_id) for external_id in _COMPANIES[:2]]
    # When the trial action is confirmed
    response = _post_trial(admin_on_demo, companies)
    # Then the trials started in the request, without a job
    assert response.status_code == 302
    assert not AdminJob.objects.exists()
    assert {_live(company).status for company in companies} == {SubscriptionStatus.TRIALING}
    assert "2 companies now trialing Pro." in admin_on_demo.get(response["Location"]).content.decode()


def test_revoke_action__within_the_limit__runs_in_the_request_as_before(admin_on_demo: Client) -> None:
    overrides = list(CompanyOverride.objects.filter(state=OverrideState.ACTIVE).order_by("pk")[:2])
    response = _post_revoke(admin_on_demo, overrides)
    assert not AdminJob.objects.exists()
    assert {CompanyOverride.objects.get(pk=o.pk).state for o in overrides} == {OverrideState.REVOKED}
    assert "Revoked 2 override(s)." in admin_on_demo.get(response["Location"]).content.decode()


def test_job_pages__support__can_follow_a_job_but_nobody_adds_changes_or_deletes_one(
    admin_on_demo: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a finished job, and a Support member (reads everything, changes nothing)
    with _committed(django_capture_on_commit_callbacks):
        _post_trial(admin_on_demo, [_company(external_id) for external_id in _COMPANIES])
    job = AdminJob.objects.get()
    support = get_user_model().objects.create_user("sam", password="pw", is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    support_client = Client()
    support_client.force_login(support)
    # Then Support opens the list and the page
    assert support_client.get(reverse("admin:core_adminjob_changelist")).status_code == 200
    assert "3 now trialing Pro." in support_client.get(_job_url(job)).content.decode()
    # … and nobody, not even a superuser, adds, changes or deletes a job by hand
    for client in (support_client, admin_on_demo):
        assert client.get(reverse("admin:core_adminjob_add")).status_code == 403
        assert client.post(_job_url(job), {"title": "Renamed"}).status_code == 403
        assert client.post(reverse("admin:core_adminjob_delete", args=[job.pk]), {"post": "yes"}).status_code == 403
    job.refresh_from_db()
    assert job.title == "Start a 14-day trial of Pro"

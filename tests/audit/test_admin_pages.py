"""The audit log in the admin (read-only, filterable) and through the API door (entries by the API key)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from catalog import services as catalog_services
from core.actors import SYSTEM_ACTOR, Actor
from core.models import AuditEntry
from entitlements.models import ApiKey, Company
from entitlements.services.companies import company_create, company_update
from tests.audit.conftest import AuditLog

CHANGELIST = "/admin/core/auditentry/"


@pytest.fixture
def entries(db: None, actor: Actor) -> None:
    """A feature made by a person, a plan and a company made by the system."""
    catalog_services.feature_create(actor=actor, key="sso", name="SSO")
    catalog_services.plan_create(actor=SYSTEM_ACTOR, key="free", name="Free")
    company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=dt.datetime.now(dt.UTC))


def _listed(response: object) -> list[AuditEntry]:
    return list(response.context["cl"].result_list)  # type: ignore[attr-defined]


def test_api_feature_create__api_key__entry_by_the_api_key(api: APIClient, audit: AuditLog) -> None:
    # When a feature is created through the management API
    response = api.post("/api/v1/features", {"key": "sso", "name": "SSO"})

    # Then the entry names the API key that signed the request
    assert response.status_code == 201, response.content
    entry = audit.one()
    api_key = ApiKey.objects.get(name="tests")
    assert entry.action == "feature.created"
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("api_key", api_key.public_id, "tests")
    assert entry.target_id == response.json()["id"]


def test_api_feature_create__invalid__no_entry(api: APIClient, audit: AuditLog) -> None:
    api.post("/api/v1/features", {"key": "sso", "name": "SSO"})
    audit.mark()

    response = api.post("/api/v1/features", {"key": "sso", "name": "Again"})

    assert response.status_code == 400
    assert audit.new() == []


def test_audit_changelist__superuser__lists_every_entry(admin_client: Client, entries: None) -> None:
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert {entry.action for entry in _listed(response)} == {"feature.created", "plan.created", "company.created"}
    assert b"admin: ada" in response.content


def test_audit_changelist__filtered_by_action__only_that_action(admin_client: Client, entries: None) -> None:
    response = admin_client.get(CHANGELIST, {"action": "feature.created"})

    assert response.status_code == 200
    assert [entry.action for entry in _listed(response)] == ["feature.created"]


def test_audit_changelist__filtered_by_actor_kind_and_target_type__matching_entries(
    admin_client: Client, entries: None
) -> None:
    by_system = admin_client.get(CHANGELIST, {"actor_kind": "system"})
    companies = admin_client.get(CHANGELIST, {"target_type": "company"})

    assert {entry.action for entry in _listed(by_system)} == {"plan.created", "company.created"}
    assert [entry.action for entry in _listed(companies)] == ["company.created"]


def test_audit_changelist__search_by_company_id__that_company(admin_client: Client, entries: None) -> None:
    company_id = AuditEntry.objects.get(action="company.created").company_id

    response = admin_client.get(CHANGELIST, {"q": company_id})

    assert [entry.company_id for entry in _listed(response)] == [company_id]


def test_audit_changelist__date_hierarchy__entries_of_that_day(admin_client: Client, entries: None) -> None:
    day = AuditEntry.objects.first().created_at  # type: ignore[union-attr]

    response = admin_client.get(
        CHANGELIST, {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day}
    )

    assert response.status_code == 200
    assert len(_listed(response)) == 3


def test_audit_change_page__entry__renders_before_and_after_as_json(admin_client: Client, entries: None) -> None:
    entry = AuditEntry.objects.get(action="feature.created")

    response = admin_client.get(f"{CHANGELIST}{entry.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<pre>" in content
    assert "&quot;key&quot;: &quot;sso&quot;" in content
    assert "<pre>null</pre>" in content  # nothing before a creation
    assert 'name="_save"' not in content  # view only: no save button


def test_audit_add__post__refused(admin_client: Client, entries: None) -> None:
    count = AuditEntry.objects.count()

    response = admin_client.post(f"{CHANGELIST}add/", {"action": "forged", "actor_kind": "admin"})

    assert response.status_code == 403
    assert AuditEntry.objects.count() == count


def test_audit_change__post__refused_and_entry_unchanged(admin_client: Client, entries: None) -> None:
    entry = AuditEntry.objects.get(action="feature.created")

    response = admin_client.post(f"{CHANGELIST}{entry.pk}/change/", {"action": "forged", "note": "forged"})

    assert response.status_code == 403
    entry.refresh_from_db()
    assert (entry.action, entry.note) == ("feature.created", "")


def test_audit_delete__post__refused_and_entry_kept(admin_client: Client, entries: None) -> None:
    entry = AuditEntry.objects.get(action="feature.created")

    response = admin_client.post(f"{CHANGELIST}{entry.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_audit_changelist__staff_with_view_permission__can_look(client: Client, entries: None) -> None:
    staff = User.objects.create_user(username="auditor", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    client.force_login(staff)
    entry = AuditEntry.objects.get(action="feature.created")

    assert client.get(CHANGELIST).status_code == 200
    assert client.get(f"{CHANGELIST}{entry.pk}/change/").status_code == 200


def test_audit_changelist__staff_without_permission__refused(client: Client, entries: None) -> None:
    staff = User.objects.create_user(username="intern", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get(CHANGELIST).status_code == 403


def test_audit_log__search_by_company_name_or_key__its_entries_with_a_link_to_the_company(
    admin_client: Client, entries: None
) -> None:
    # Given entries of Acme (its creation, a key added) and entries of no company (the catalog)
    company = Company.objects.get(name="Acme")
    company_update(actor=SYSTEM_ACTOR, company=company, keys={"stripe_customer_id": "cus_9x7QK"})
    acme = AuditEntry.objects.get(action="company.created")
    # When the log is searched by the company's name, or by one of its keys
    for term in ("Acme", "acm", "cus_9x7qk"):
        listed = _listed(admin_client.get(CHANGELIST, {"q": term}))
        # Then its entries are listed, and only entries of that company
        assert acme in listed, term
        assert all(entry.company_id == acme.company_id for entry in listed), term
    # And the company column links to the company
    page = admin_client.get(CHANGELIST).content.decode()
    assert f'<a href="/admin/entitlements/company/?q={acme.company_id}">{acme.company_id}</a>' in page

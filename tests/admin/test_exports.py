"""CSV exports of the company list, the audit log, the credit ledger and usage: what the list shows with its current
search and filters, every row (not one page), streamed."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from entitlements.models import Company

pytestmark = pytest.mark.django_db


def _csv(client: Client, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


def test_company_list_export__keeps_the_list_s_filters__every_column(admin_on_demo: Client) -> None:
    everyone = _csv(admin_on_demo, "/admin/entitlements/company/export.csv")
    assert len(everyone) == Company.objects.count() == 6
    trials = _csv(admin_on_demo, "/admin/entitlements/company/export.csv?trial_ending=7d")
    (initech,) = trials
    assert (initech["company"], initech["plan"], initech["status"]) == ("Initech", "Pro", "trialing")
    assert initech["credits"] == "ai-credits=500" and initech["trial ends (UTC)"]
    hooli = next(row for row in everyone if row["company"] == "Hooli")
    assert (hooli["active overrides"], hooli["highest usage feature"], hooli["highest usage %"]) == (
        "1",
        "seats",
        "100",
    )
    page = admin_on_demo.get("/admin/entitlements/company/?trial_ending=7d").content.decode()
    assert 'href="export.csv?trial_ending=7d"' in page  # the button keeps the filters


def test_audit_export__search_by_company__its_entries(admin_on_demo: Client) -> None:
    rows = _csv(admin_on_demo, "/admin/core/auditentry/export.csv?q=Globex")
    globex = Company.objects.get(name="Globex").public_id
    assert rows and all(row["company"] == globex for row in rows)
    assert {"company.created", "override.granted"} <= {row["action"] for row in rows}


def test_ledger_and_usage_exports__one_company(admin_on_demo: Client) -> None:
    hooli = Company.objects.get(name="Hooli")
    ledger = _csv(admin_on_demo, f"/admin/credits/creditledgerentry/export.csv?q={hooli.public_id}")
    assert ledger and {row["company"] for row in ledger} == {"Hooli"}
    assert ledger[0]["credits"] == "500"  # readable numbers, not 500.000000
    usage = _csv(admin_on_demo, f"/admin/entitlements/usageevent/export.csv?q={hooli.public_id}")
    assert all(row["company"] == "Hooli" for row in usage)


def test_exports__support_may_download_anonymous_is_sent_to_log_in(admin_on_demo: Client) -> None:
    from django.contrib.auth.models import Group

    from core.permissions import SUPPORT

    support = get_user_model().objects.create_user("support", "s@example.test", "pw", is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    client = Client()
    client.force_login(support)
    assert len(_csv(client, "/admin/core/auditentry/export.csv")) > 0
    assert Client().get("/admin/entitlements/company/export.csv").status_code == 302  # to the login page

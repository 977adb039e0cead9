"""The back-office home: the day's queues, each a count that agrees with the company list it links to."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def _queues(html: str) -> list[tuple[str, str, str]]:
    """(count, label, link) of each queue on the page."""
    pattern = (
        r'<a class="queue" href="([^"]+)">\s*<span class="count">([^<]*)</span>\s*<span class="label">([^<]*)</span>'
    )
    return [(count, label, url.replace("&amp;", "&")) for url, count, label in re.findall(pattern, html)]


def test_home__queues__each_count_is_the_length_of_the_list_it_links_to(admin_on_demo: Client) -> None:
    queues = _queues(admin_on_demo.get("/admin/").content.decode())
    assert [label for _, label, _ in queues] == [
        "Trials ending this week",
        "Overrides expiring in 7 days",
        "At or over 80 % of a limit",
        "Silent for 14 days",
        "Renewals in the next 30 days",
    ]
    for count, label, url in queues:
        listed = admin_on_demo.get(url).context["cl"].result_count
        assert count == str(listed), f"{label}: {count} on the home page, {listed} in the list"
    trials = admin_on_demo.get(queues[0][2]).context["cl"].result_list
    assert [company.name for company in trials] == ["Initech"]  # the demo's trial ends in a week


def test_home__support__sees_the_queues_too(admin_on_demo: Client, settings: Any) -> None:
    from django.contrib.auth.models import Group

    from core.permissions import SUPPORT

    support = get_user_model().objects.create_user("support", "s@example.test", "pw", is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    client = Client()
    client.force_login(support)
    assert len(_queues(client.get("/admin/").content.decode())) == 5

"""Run in a process of its own with ``tests.events.event_app.settings``: migrate an empty database, grant an override
through the REST API (each request its own committed transaction) and one inside a transaction that rolls back, then
print what the other app's subscriber received, as JSON."""

from __future__ import annotations

import json

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from catalog import services as catalog  # noqa: E402
from core.actors import SYSTEM_ACTOR  # noqa: E402
from entitlements.services.api_keys import api_key_create  # noqa: E402
from entitlements.services.companies import company_create  # noqa: E402
from entitlements.services.overrides import override_grant  # noqa: E402
from tests.events.event_app.apps import RECEIVED  # noqa: E402


class _RolledBack(Exception):
    pass


def main() -> None:
    call_command("migrate", verbosity=0)
    catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    calls = catalog.feature_create(actor=SYSTEM_ACTOR, key="calls", name="Calls", feature_type="event", event_name="c")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    api = APIClient(headers={"X-Schematic-Api-Key": api_key_create(actor=SYSTEM_ACTOR, name="t").secret})
    api.default_format = "json"
    granted = api.post(
        f"/api/v1/companies/{company.public_id}/overrides",
        {"feature": "sso", "value_type": "boolean", "value": True, "note": "pilot"},
    )
    assert granted.status_code == 201, granted.content
    try:
        with transaction.atomic():
            override_grant(
                actor=SYSTEM_ACTOR,
                company=company,
                feature=calls,
                value_type="unlimited",
                note="rolled back",
                now=timezone.now(),
            )
            raise _RolledBack
    except _RolledBack:
        pass
    revoked = api.delete(f"/api/v1/companies/{company.public_id}/overrides/sso")
    assert revoked.status_code == 200, revoked.content
    print(json.dumps(RECEIVED))


main()

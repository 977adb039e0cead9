"""The periodic jobs in a thread of the server (embedded defaults): started and stopped by the ASGI lifespan."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from catalog import services as catalog
from config.asgi import application
from core.actors import SYSTEM_ACTOR
from entitlements.models import CompanyOverride
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant


@pytest.fixture
def lapsed_override(transactional_db: None) -> CompanyOverride:
    """An override whose expiry passed a minute ago and that no job has marked yet."""
    feature = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    past = timezone.now() - dt.timedelta(hours=1)
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=past)
    return override_grant(
        actor=SYSTEM_ACTOR,
        company=company,
        feature=feature,
        value_type="boolean",
        value=True,
        note="trial of SSO",
        expires_at=timezone.now() - dt.timedelta(minutes=1),
        now=past,
    )


async def _lifespan_until_jobs_ran(override: CompanyOverride) -> list[str]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    serving = asyncio.ensure_future(application({"type": "lifespan"}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(lambda: CompanyOverride.objects.get(pk=override.pk).state) == "active":
        assert time.monotonic() < deadline, "the in-server jobs did not run"
        await asyncio.sleep(0.05)
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(serving, timeout=15)
    return sent


def test_lifespan__jobs_in_server__run_at_startup_and_stop_at_shutdown(lapsed_override: CompanyOverride) -> None:
    with override_settings(PERIODIC_JOBS_IN_SERVER=True):
        sent = asyncio.run(_lifespan_until_jobs_ran(lapsed_override))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert CompanyOverride.objects.get(pk=lapsed_override.pk).state == "expired"

"""Production topology: two web processes sharing PostgreSQL and the Redis channel layer.

A change committed through process A must reach an SDK connected to process B. Only meaningful on PostgreSQL +
Redis (the embedded defaults are one process by design), so skipped elsewhere; ``.ci/run`` runs it there.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.models import Company
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create
from tests.datastream.support import eventually, sdk_connect
from tests.sdk.conftest import AsgiServer, _free_port

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL or connection.vendor != "postgresql",
    reason="two processes need the shared PostgreSQL database and Redis channel layer",
)

ROOT = Path(__file__).resolve().parents[2]
ACME = {"external_id": "acme"}


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class ServerProcess:
    """``uvicorn config.asgi:application`` in its own process, on the test database and the shared Redis."""

    def __init__(self) -> None:
        self.port = _free_port()
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
        env["CACHE_KEY_PREFIX"] = settings.CACHE_KEY_PREFIX
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--lifespan", "off", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = (ServerProcess(), ServerProcess())
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_change_committed_through_process_a__reaches_sdk_connected_to_process_b(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    process_a, process_b = two_servers
    catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    company: Company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())
    secret = api_key_create(actor=SYSTEM_ACTOR, name="two processes").secret
    on_b = AsgiServer(url=process_b.url, api_secret=secret)

    def grant_through_a() -> None:
        response = httpx.post(
            f"{process_a.url}/api/v1/companies/{company.public_id}/overrides",
            json={"feature": "sso", "value_type": "boolean", "value": True, "note": "deal closes at 5 pm"},
            headers={"X-Schematic-Api-Key": secret},
        )
        assert response.status_code == 201, response.text

    async def scenario() -> None:
        client = await sdk_connect(on_b)
        try:
            assert await client.check_flag("sso", company=ACME) is False
            ds = client._get_datastream()
            assert ds is not None and await ds.get_cached_company(ACME) is not None
            await asyncio.to_thread(grant_through_a)

            async def flipped() -> bool:  # answered from the SDK's cache, which only B's pushes fill
                held = await ds.get_cached_company(ACME)
                return held is not None and bool(held.rules) and await client.check_flag("sso", company=ACME)

            await eventually(flipped)
        finally:
            await client.shutdown()

    asyncio.run(scenario())


def test_change_committed_by_a_short_lived_command__reaches_sdk_before_it_exits(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """A management command or Celery task has no server loop: its pushes leave from a loop of its own, drained when
    the process exits, so a command that exits right after its write still reaches the SDKs."""
    _, process_b = two_servers
    catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())
    secret = api_key_create(actor=SYSTEM_ACTOR, name="command").secret
    on_b = AsgiServer(url=process_b.url, api_secret=secret)
    command = (
        "import django; django.setup()\n"
        "from core.actors import SYSTEM_ACTOR\n"
        "from entitlements.models import Company\n"
        "from entitlements.services.companies import company_update\n"
        "company_update(actor=SYSTEM_ACTOR, company=Company.objects.get(keys__value='acme'), traits={'seats': '42'})\n"
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    env.update(CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX, DJANGO_SETTINGS_MODULE="config.settings")

    async def scenario() -> None:
        client = await sdk_connect(on_b)
        try:
            ds = client._get_datastream()
            assert ds is not None
            assert await client.check_flag("sso", company=ACME) is False  # now held

            def run_command() -> None:
                subprocess.run([sys.executable, "-c", command], cwd=ROOT, env=env, check=True, timeout=60)

            await asyncio.to_thread(run_command)

            async def pushed() -> bool:
                held = await ds.get_cached_company(ACME)
                return held is not None and [trait.value for trait in held.traits or []] == ["42"]

            await eventually(pushed)
        finally:
            await client.shutdown()

    asyncio.run(scenario())

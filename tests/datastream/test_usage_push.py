"""Usage reaching connected SDKs: metrics partials after capture (coalesced, in order), and window resets."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from schematic.client import AsyncSchematic, Schematic, SchematicConfig

from catalog import services as catalog
from catalog.selectors import plan_get
from core.actors import SYSTEM_ACTOR
from entitlements.datastream.window_resets import window_resets_push
from entitlements.models import Company
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put
from tests.datastream.support import eventually, receive, request, sdk_connect, socket
from tests.sdk.conftest import AsgiServer

FLAG = "ai-generations"
EVENT = "generation"
LIMIT = 3
ACME = {"external_id": "acme"}


@pytest.fixture
def metered(transactional_db: None) -> Company:
    """Acme on a plan allowing ``LIMIT`` generations a calendar month."""
    feature = catalog.feature_create(
        actor=SYSTEM_ACTOR, key=FLAG, name="AI generations", feature_type="event", event_name=EVENT
    )
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="starter", name="Starter")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR,
        plan=plan,
        feature=feature,
        value_type="numeric",
        allocation=LIMIT,
        metric_period="current_month",
    )
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys=ACME, now=timezone.now())
    subscription_put(actor=SYSTEM_ACTOR, company=company, plan=plan_get(identifier="starter"), now=timezone.now())
    return company


async def _held_month_count(client: AsyncSchematic) -> int | None:
    """The calendar-month count of ``EVENT`` in the SDK's cached copy of Acme (``None`` if it holds none)."""
    ds = client._get_datastream()
    assert ds is not None
    company = await ds.get_cached_company(ACME)
    for metric in (company.metrics or []) if company is not None else []:
        if (metric.event_subtype, metric.period, metric.month_reset) == (EVENT, "current_month", "first_of_month"):
            return int(metric.value)
    return None


def _tracker(server: AsgiServer) -> Schematic:
    """A second SDK instance (sync, REST mode) that only tracks usage."""
    return Schematic(
        server.api_secret,
        SchematicConfig(
            base_url=server.url, event_capture_url=server.url, cache_providers=[], event_buffer_period=3600
        ),
    )


def test_sdk__usage_tracked_by_another_sdk__pushed_as_metrics_and_limit_flips_at_n(
    asgi_server: AsgiServer, metered: Company, rest_flag_calls: list[str]
) -> None:
    tracker = _tracker(asgi_server)

    def track_one() -> None:
        tracker.track(EVENT, company=ACME)
        tracker.event_buffer.flush()

    async def scenario() -> None:
        client = await sdk_connect(asgi_server, flag=FLAG)
        try:
            assert await client.check_flag(FLAG, company=ACME) is True
            assert await _held_month_count(client) == 0
            for used in range(1, LIMIT + 1):
                await asyncio.to_thread(track_one)

                async def pushed(used: int = used) -> bool:
                    return await _held_month_count(client) == used

                await eventually(pushed)
                assert await client.check_flag(FLAG, company=ACME) is (used < LIMIT)
        finally:
            await client.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        tracker.shutdown()
    assert rest_flag_calls == []  # every check was answered from the pushed state


def test_sdk__new_month__window_reset_pushed_and_limit_lifted(
    asgi_server: AsgiServer, metered: Company, rest_flag_calls: list[str]
) -> None:
    tracker = _tracker(asgi_server)

    def use_up_the_month() -> None:
        tracker.track(EVENT, company=ACME, quantity=LIMIT)
        tracker.event_buffer.flush()

    now = timezone.now()
    next_month = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=32)).replace(day=1)

    async def scenario() -> None:
        client = await sdk_connect(asgi_server, flag=FLAG)
        try:
            assert await client.check_flag(FLAG, company=ACME) is True
            await asyncio.to_thread(use_up_the_month)

            async def exhausted() -> bool:
                return await client.check_flag(FLAG, company=ACME) is False

            await eventually(exhausted)
            # Time moves into the next month: the scheduled job pushes the reset values as of the boundary.
            pushed = await database_sync_to_async(window_resets_push)(
                since=now, until=next_month + dt.timedelta(seconds=1)
            )
            assert pushed == 1

            async def lifted() -> bool:
                return await client.check_flag(FLAG, company=ACME) is True

            await eventually(lifted)
            assert await _held_month_count(client) == 0
        finally:
            await client.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        tracker.shutdown()
    assert rest_flag_calls == []


def test_socket__burst_of_capture__coalesced_in_order_and_last_value_sent(
    asgi_server: AsgiServer, metered: Company
) -> None:
    writers, batches_each = 6, 8
    total = writers * batches_each

    def capture(client: httpx.Client) -> None:
        for _ in range(batches_each):
            event = {"api_key": "x", "type": "track", "body": {"event": EVENT, "company": ACME, "quantity": 1}}
            response = client.post("/batch", content=json.dumps({"events": [event]}))
            assert response.status_code == 200, response.text

    def burst() -> float:
        started = time.monotonic()
        clients = [
            httpx.Client(base_url=asgi_server.url, headers={"X-Schematic-Api-Key": asgi_server.api_secret})
            for _ in range(writers)
        ]
        threads = [threading.Thread(target=capture, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
        return time.monotonic() - started

    async def scenario() -> tuple[list[int], float]:
        async with socket(asgi_server) as ws:
            held = await request(ws, {"entity_type": "rulesengine.Company", "keys": ACME})
            assert held["message_type"] == "full"
            writing = asyncio.ensure_future(asyncio.to_thread(burst))
            values: list[int] = []
            while not values or values[-1] < total:
                pushed: dict[str, Any] = await receive(ws)
                assert (pushed["entity_type"], pushed["message_type"]) == ("rulesengine.Company", "partial")
                assert pushed["entity_id"] == held["entity_id"]
                assert set(pushed["data"]) == {"metrics", "credit_balances"}
                month = [m for m in pushed["data"]["metrics"] if (m["period"], m["month_reset"]) == (
                    "current_month", "first_of_month")]  # fmt: skip
                values.append(month[0]["value"])
            return values, await writing

    values, elapsed = asyncio.run(scenario())
    print(f"{total} batches in {elapsed:.3f} s reached the socket as {len(values)} pushes: {values}")
    assert values == sorted(values), values  # never an older count after a newer one
    assert values[-1] == total  # the last value is never lost
    # Coalesced: at most one push per 50 ms (plus the leading one), far fewer than the batches written.
    assert len(values) <= elapsed / 0.05 + 2, (len(values), elapsed)
    assert len(values) < total

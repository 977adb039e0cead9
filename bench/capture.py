"""Capture throughput: ``POST /batch`` with 100 track events a request, counters exact at the end.

The baseline in the same run is the trivial Django JSON view receiving the same 100-event bodies. Run on
PostgreSQL: ``DATABASE_URL=postgres://… .venv/bin/python -m bench.capture [batches-per-client]``.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

from bench.harness import bench_environment, database_kind, database_reset, django_run, seed, uvicorn_server

CLIENTS = 8
WORKERS = 2
BATCH = 100


def _client(url: str, path: str, secret: str, bodies: list[bytes], failures: list[str]) -> None:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Schematic-Api-Key": secret}
    for body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            failures.append(f"{response.status} {answer[:200]!r}")
    connection.close()


def _bodies(client: int, batches: int, company: str, event: str) -> list[bytes]:
    bodies = []
    for batch in range(batches):
        events = [
            {
                "api_key": "x",
                "type": "track",
                "idempotency_key": f"c{client}-b{batch}-e{index}",
                "body": {"event": event, "company": {"external_id": company}, "quantity": 1 + index % 3},
            }
            for index in range(BATCH)
        ]
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def _load(url: str, path: str, secret: str, bodies_by_client: list[list[bytes]]) -> tuple[float, list[str]]:
    failures: list[str] = []
    threads = [
        threading.Thread(target=_client, args=(url, path, secret, bodies, failures)) for bodies in bodies_by_client
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, failures


def main(batches: int, clients: int, workers: int) -> None:
    env = bench_environment()
    database_reset(env)
    seeded = seed(env)
    bodies = [_bodies(client, batches, seeded["company_key"], seeded["event"]) for client in range(clients)]
    expected_units = sum(1 + index % 3 for index in range(BATCH)) * batches * clients
    events = BATCH * batches * clients
    with uvicorn_server(env, workers=workers) as url:
        _load(url, "/bench/trivial", seeded["secret"], [b[:5] for b in bodies])  # warm up
        trivial_seconds, _ = _load(url, "/bench/trivial", seeded["secret"], bodies)
        capture_seconds, failures = _load(url, "/batch", seeded["secret"], bodies)
        # the same batches again: every event is a repeat and must change nothing
        repeat_seconds, repeat_failures = _load(
            url, "/batch", seeded["secret"], [b[: max(1, batches // 4)] for b in bodies]
        )
    counted = json.loads(
        django_run(
            env,
            "import json\nfrom django.db.models import Sum\nfrom entitlements.models import UsageCounter, UsageEvent\n"
            "print(json.dumps({'events': UsageEvent.objects.count(), 'units': UsageEvent.objects.aggregate(s=Sum("
            "'quantity'))['s'], 'counter': UsageCounter.objects.get(period='current_month', "
            "month_reset='first_of_month').value}))",
        ).strip()
    )
    print(
        f"Capture benchmark — {database_kind(env)}, uvicorn ×{workers} workers, {clients} clients × {batches} "
        f"batches of "
        f"{BATCH} track events ({events} events, idempotency keys on all)"
    )
    print(f"  trivial view, same bodies : {events / trivial_seconds:9.0f} events/s ({trivial_seconds:.2f} s)")
    print(
        f"  POST /batch               : {events / capture_seconds:9.0f} events/s ({capture_seconds:.2f} s)"
        f"   failures {len(failures)}"
    )
    repeated = BATCH * max(1, batches // 4) * clients
    print(f"  POST /batch, all repeats  : {repeated / repeat_seconds:9.0f} events/s   failures {len(repeat_failures)}")
    print(f"  ratio capture/trivial     : {trivial_seconds / capture_seconds:.2f}×   (aim ≥ 20,000 events/s)")
    exact = counted == {"events": events, "units": expected_units, "counter": expected_units}
    print(f"  counters exact            : {exact}  (stored {counted}, expected events={events} units={expected_units})")
    if failures or repeat_failures or not exact:
        raise SystemExit("capture benchmark found errors: " + "; ".join((failures + repeat_failures)[:3]))


if __name__ == "__main__":
    arguments = [int(argument) for argument in sys.argv[1:]]
    main(*(arguments + [50, CLIENTS, WORKERS][len(arguments) :]))

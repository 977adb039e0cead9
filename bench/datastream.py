"""Datastream latency and fan-out: commit → SDK receipt for 1 and 1,000 connected clients, the time a flag change
takes to reach all 1,000, server memory per connection, and the SDK's local check next to our engine's.

The server is two uvicorn processes on different ports sharing PostgreSQL and the Redis channel layer, the clients split
evenly between them. Writes are committed by a third process (a plain Django process, as a Celery worker or a
management command would be: its pushes leave from a loop of its own, coalesced like a web process's); the clients
are raw ``websockets`` connections, opened as the SDK opens them, in their own processes
(``bench/datastream_clients.py``). A latency is a wall-clock difference between processes on this machine: from the
instant the transaction committed (a ``transaction.on_commit`` callback registered before the write, so it runs before
the push callbacks) to the instant a client first holds that commit's state. The baseline is a raw Redis PUBLISH →
SUBSCRIBE round trip measured in the same run.

At 1,000 clients the company is changed twice: commits 75 ms apart (the product's pace), then one at a time on a
server with no backlog. Between phases the clients wait until no frame has arrived for a second, so each phase starts
idle and the time the server took to clear its backlog is measured too.

Needs PostgreSQL and Redis: ``DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python -m bench.datastream``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import (
    PYTHON,
    ROOT,
    bench_environment,
    database_kind,
    database_reset,
    django_run,
    seed,
    uvicorn_server,
)

CLIENTS = 1000
COMMITS = 100
COMMIT_SPACING = 0.075  # s; the server coalesces per 50 ms, so commits never share a push
FANOUT_REPEATS = 7
FANOUT_SPACING = 2.0  # s; lets every push of one flag change drain before the next
SPACED_COMMITS = 10
SPACED_SPACING = 1.5  # s; one change at a time, on a server with no backlog
REDIS_MESSAGES = 500
SDK_CHECKS = 2000
SEQ_TRAIT = "bench_seq"
# As the Procfile runs the web processes: without per-message compression (``--ws-deflate`` to measure it on).
WS_DEFLATE = "--ws-deflate" in sys.argv


# --- Inside the committing Django process (``django_run``) --------------------------------------------------------


def commit_company_changes(first: int, count: int, spacing: float) -> None:
    """Set the company's ``bench_seq`` trait to ``seq-<first>`` … one commit every ``spacing`` seconds; print, per
    commit, (sequence number, commit instant, instant the write's ``atomic`` block returned)."""
    from django.db import transaction

    from core.actors import SYSTEM_ACTOR
    from entitlements.documents.cache import company_id_for_keys
    from entitlements.models import Company
    from entitlements.services.companies import company_update

    company_id = company_id_for_keys({"external_id": "bench"})
    assert company_id is not None
    company = Company.objects.get(pk=company_id)
    committed: list[float] = []

    def stamp() -> None:
        committed.append(time.time())

    commits = []
    start = time.monotonic()
    for index in range(count):
        seq = first + index
        with transaction.atomic():
            transaction.on_commit(stamp)  # first callback: runs before the pushes' own callbacks
            company_update(actor=SYSTEM_ACTOR, company=company, traits={SEQ_TRAIT: f"seq-{seq:06d}"})
        commits.append((seq, committed[-1], time.time()))
        time.sleep(max(0.0, start + (index + 1) * spacing - time.monotonic()))
    print(json.dumps(commits))


def commit_flag_changes(count: int, spacing: float) -> None:
    """Create the features ``fanout-1`` … ``fanout-<count>`` (each a new flag in the snapshot), one every ``spacing``
    seconds; print, per change, (number, commit instant, instant the ``atomic`` block returned)."""
    from django.db import transaction

    from catalog.services import feature_create
    from core.actors import SYSTEM_ACTOR

    committed: list[float] = []

    def stamp() -> None:
        committed.append(time.time())

    changes = []
    for number in range(1, count + 1):
        with transaction.atomic():
            transaction.on_commit(stamp)
            feature_create(actor=SYSTEM_ACTOR, key=f"fanout-{number}", name=f"Fan-out {number}")
        changes.append((number, committed[-1], time.time()))
        time.sleep(spacing)
    print(json.dumps(changes))


# --- The benchmark process ----------------------------------------------------------------------------------------


def _percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int


def _latency(samples_s: Sequence[float]) -> Latency:
    ms = [sample * 1000 for sample in samples_s]
    return Latency(statistics.median(ms), _percentile(ms, 0.99), max(ms), len(ms))


async def _redis_round_trips(url: str, count: int) -> Latency:
    """PUBLISH on one connection → the message read on a subscribed one, one message at a time (redis-py asyncio)."""
    import redis.asyncio as redis

    publisher, subscriber = redis.Redis.from_url(url), redis.Redis.from_url(url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    channel = f"bench-datastream-{os.getpid()}"
    await pubsub.subscribe(channel)
    samples = []
    for index in range(count + 50):
        started = time.perf_counter()
        await publisher.publish(channel, str(index))
        message = None
        while message is None:
            message = await pubsub.get_message(timeout=5.0)
        if index >= 50:  # the first 50 warm up both connections
            samples.append(time.perf_counter() - started)
    await pubsub.aclose()
    await publisher.aclose()
    await subscriber.aclose()
    return _latency(samples)


Commits = list[tuple[int, float, float]]  # (number, commit instant, instant the write's atomic() block returned)


def _commit(env: dict[str, str], function: str, *args: object) -> Commits:
    printed = django_run(env, f"from bench.datastream import {function}; {function}{args!r}")
    return [(int(n), float(committed), float(returned)) for n, committed, returned in json.loads(printed.strip())]


class ClientProcess:
    """``bench/datastream_clients.py`` holding ``count`` connections to one server process."""

    def __init__(self, env: dict[str, str], ws_url: str, secret: str, count: int) -> None:
        self.count = count
        self.process = subprocess.Popen(
            [PYTHON, "-m", "bench.datastream_clients", ws_url, secret, str(count)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the client process ended (exit status {self.process.wait()})")
        return line

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        return answer

    def wait_ready(self) -> None:
        line = self._line()
        if line.strip() != "ready":
            raise RuntimeError(f"the client process did not get ready: {line!r}")

    def drain(self) -> dict[str, Any]:
        """Once no frame has arrived for a second: the counters so far and the last frame's arrival."""
        return self._ask("drain")

    def stop(self, last_seq: int, last_fanout: int) -> dict[str, Any]:
        """Once every connection holds both (or 15 s passed): every receipt time, and the counters."""
        answer = self._ask(f"stop {last_seq} {last_fanout}")
        self.process.wait(timeout=60)
        return answer

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _drain(clients: list[ClientProcess]) -> dict[str, Any]:
    """Wait until every client process has been quiet for a second; their counters summed, the last arrival."""
    answers = [client.drain() for client in clients]
    summed: dict[str, Any] = {name: sum(answer[name] for answer in answers) for name in COUNTERS}
    summed["last_receipt"] = max(answer["last_receipt"] for answer in answers)
    return summed


COUNTERS = ("frames", "documents", "usage", "snapshots", "skipped", "error_count")


def _server_pid(url: str) -> int:
    """The process serving ``url`` (a one-worker uvicorn: the process started with that ``--port``)."""
    port = url.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"config.asgi:application" in argv and b"--port" in argv and argv[argv.index(b"--port") + 1] == port:
            return int(entry.name)
    raise RuntimeError(f"no server process found for {url}")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Phase:
    """Company commits and what the connections received for them."""

    label: str
    latency: Latency
    held: int  # (commit, connection) pairs where the connection came to hold the commit
    expected: int
    frames_per_commit: dict[str, float]  # per connection: documents, usage-only partials
    skipped: int
    sent_in_committer_ms: float  # median, commit → the write's atomic() block returned (pushes sent from there)
    backlog_s: float  # last commit → last frame received


def _phase(
    label: str,
    commits: Commits,
    receipts: list[dict[str, Any]],
    before: dict[str, Any],
    after: dict[str, Any],
    connections: int,
) -> Phase:
    samples = [
        receipt - committed
        for result in receipts
        for number, committed, _ in commits
        for receipt in result["company"].get(str(number), [])
    ]
    per_commit = len(commits) * connections
    return Phase(
        label=label,
        latency=_latency(samples),
        held=len(samples),
        expected=per_commit,
        frames_per_commit={kind: (after[kind] - before[kind]) / per_commit for kind in ("documents", "usage")},
        skipped=after["skipped"] - before["skipped"],
        sent_in_committer_ms=statistics.median(returned - committed for _, committed, returned in commits) * 1000,
        backlog_s=after["last_receipt"] - commits[-1][1],
    )


async def _wire_documents(ws_url: str, secret: str, flag_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flag and the company documents exactly as the datastream serves them."""
    from websockets.asyncio.client import connect

    async with connect(ws_url, additional_headers={"X-Schematic-Api-Key": secret}, max_size=None) as ws:
        await ws.send(json.dumps({"data": {"action": "start", "entity_type": "rulesengine.Flags"}}))
        flags = json.loads(await ws.recv())["data"]
        company_request = {"action": "start", "entity_type": "rulesengine.Company", "keys": {"external_id": "bench"}}
        await ws.send(json.dumps({"data": company_request}))
        company = json.loads(await ws.recv())["data"]
    return next(flag for flag in flags if flag["key"] == flag_key), company


async def _sdk_checks(url: str, secret: str, flag_key: str, count: int) -> tuple[float, float, bool]:
    """(median µs, p99 µs, value) of ``AsyncSchematic.check_flag`` in datastream mode, the company in its cache."""
    from schematic.client import AsyncSchematic, AsyncSchematicConfig

    config = AsyncSchematicConfig(
        base_url=url, event_capture_url=url, use_datastream=True, cache_providers=[], event_buffer_period=3600
    )
    client = AsyncSchematic(secret, config)
    await client.initialize()
    try:
        datastream = client._get_datastream()
        assert datastream is not None
        deadline = time.monotonic() + 10
        while not (datastream.is_connected() and await datastream.get_flag(flag_key) is not None):
            if time.monotonic() > deadline:
                raise RuntimeError("the SDK did not receive the flags")
            await asyncio.sleep(0.02)
        company = {"external_id": "bench"}
        value = await client.check_flag(flag_key, company=company)  # fetches the company over the datastream
        if await datastream.get_cached_company(company) is None:
            raise RuntimeError("the SDK does not hold the company after checking it")
        for _ in range(200):  # warm-up
            await client.check_flag(flag_key, company=company)
        samples = []
        clock = time.perf_counter_ns
        for _ in range(count):
            started = clock()
            await client.check_flag(flag_key, company=company)
            samples.append(clock() - started)
    finally:
        await client.shutdown()
    return statistics.median(samples) / 1000, _percentile(samples, 0.99) / 1000, value


def _engine_checks(flag_document: dict[str, Any], company_document: dict[str, Any]) -> tuple[float, float, bool]:
    """(median µs, p99 µs, value) of our engine's ``evaluate`` on the same documents (``bench.engine_eval``)."""
    from bench.engine_eval import measure
    from entitlements import engine

    flag, company = engine.prepare_flag(flag_document), engine.prepare_company(company_document)
    value = engine.evaluate(flag, company, None, None, now=dt.datetime.now(dt.UTC)).value
    median, p99 = measure(flag, company)
    return median, p99, value


def _latency_row(label: str, latency: Latency, baseline: Latency) -> str:
    return (
        f"  {label:46} {latency.p50_ms:9.2f} {latency.p99_ms:9.2f} {latency.max_ms:9.2f}   "
        f"{latency.p50_ms / baseline.p50_ms:6.0f}× / {latency.p99_ms / baseline.p99_ms:.0f}×"
    )


def main() -> None:
    env = bench_environment()
    if database_kind(env) != "PostgreSQL" or not env.get("REDIS_URL"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    database_reset(env)
    seeded = seed(env)
    secret, flag_key = seeded["secret"], seeded["metered_flag"]
    redis_baseline = asyncio.run(_redis_round_trips(env["REDIS_URL"], REDIS_MESSAGES))
    clients: list[ClientProcess] = []
    with ExitStack() as stack:
        options = ["--ws-per-message-deflate", "true" if WS_DEFLATE else "false"]
        urls = [stack.enter_context(uvicorn_server(env, workers=1, options=options)) for _ in range(2)]
        ws_urls = [url.replace("http://", "ws://") + "/datastream" for url in urls]
        pids = [_server_pid(url) for url in urls]

        def kill_clients() -> None:
            for client in clients:
                client.kill()

        stack.callback(kill_clients)

        # 1 client, on the first server process.
        clients = [ClientProcess(env, ws_urls[0], secret, 1)]
        clients[0].wait_ready()
        zero = _drain(clients)
        commits = _commit(env, "commit_company_changes", 1, COMMITS, COMMIT_SPACING)
        drained = _drain(clients)
        receipts = [clients[0].stop(COMMITS, 0)]
        one = _phase(
            f"1 client, {COMMITS} commits {COMMIT_SPACING * 1000:.0f} ms apart", commits, receipts, zero, drained, 1
        )
        first = COMMITS + 1

        # 1,000 clients, half on each server process.
        time.sleep(1.0)
        rss_before = [_rss_kib(pid) for pid in pids]
        opening = time.monotonic()
        clients = [ClientProcess(env, ws_url, secret, CLIENTS // len(ws_urls)) for ws_url in ws_urls]
        for client in clients:
            client.wait_ready()
        opened_s = time.monotonic() - opening
        time.sleep(1.0)
        rss_after = [_rss_kib(pid) for pid in pids]
        zero = _drain(clients)
        paced = _commit(env, "commit_company_changes", first, COMMITS, COMMIT_SPACING)
        after_paced = _drain(clients)
        spaced = _commit(env, "commit_company_changes", first + COMMITS, SPACED_COMMITS, SPACED_SPACING)
        after_spaced = _drain(clients)
        changes = _commit(env, "commit_flag_changes", FANOUT_REPEATS, FANOUT_SPACING)
        receipts = [client.stop(first + COMMITS + SPACED_COMMITS - 1, FANOUT_REPEATS) for client in clients]
        many = _phase(
            f"{CLIENTS:,} clients, {COMMITS} commits {COMMIT_SPACING * 1000:.0f} ms apart",
            paced,
            receipts,
            zero,
            after_paced,
            CLIENTS,
        )
        apart = _phase(
            f"{CLIENTS:,} clients, {SPACED_COMMITS} commits {SPACED_SPACING:.1f} s apart",
            spaced,
            receipts,
            after_paced,
            after_spaced,
            CLIENTS,
        )
        paced_frames = after_paced["frames"] - zero["frames"]
        fanout = []
        for number, committed, _ in changes:
            arrivals = [t for result in receipts for t in result["flags"].get(str(number), [])]
            fanout.append((len(arrivals), (max(arrivals) - committed) * 1000 if arrivals else float("nan")))
        client_errors = [error for result in receipts for error in result["errors"]]

        flag_document, company_document = asyncio.run(_wire_documents(ws_urls[0], secret, flag_key))
        sdk = asyncio.run(_sdk_checks(urls[0], secret, flag_key, SDK_CHECKS))
    ours = _engine_checks(flag_document, company_document)
    from bench.engine_eval import _sdk_local_check

    sdk_parts = _sdk_local_check(flag_document, company_document)

    print(
        f"Datastream benchmark — {database_kind(env)} + Redis channel layer, 2 uvicorn processes (clients split "
        "evenly), writes committed by a third Django process"
    )
    document_bytes = len(json.dumps(company_document, separators=(",", ":")))
    print(
        f"  company document {document_bytes:,} bytes of JSON; clients: websockets asyncio client offering "
        f"permessage-deflate as the SDK does; server compression {'on' if WS_DEFLATE else 'off (as in the Procfile)'}"
    )
    print(f"Latency, commit → client holds the change   {'':14} p50 ms    p99 ms    max ms   vs Redis p50 / p99")
    print(_latency_row(f"baseline: Redis PUBLISH → SUBSCRIBE, {REDIS_MESSAGES} msgs", redis_baseline, redis_baseline))
    for phase in (one, many, apart):
        print(_latency_row(phase.label, phase.latency, redis_baseline))
    verdict = "met" if many.latency.p99_ms <= 100 else "MISSED"
    print(f"  aim: p99 ≤ 100 ms at {CLIENTS:,} clients ({many.label}) — {verdict}")
    for phase in (one, many, apart):
        print(
            f"  {phase.label:46}: held {phase.held:,} of {phase.expected:,}; per commit and connection "
            f"{phase.frames_per_commit['documents']:.2f} document + {phase.frames_per_commit['usage']:.2f} "
            f"usage-only pushes; {phase.skipped:,} commits first held through a later one's push; commit → "
            f"atomic() returned {phase.sent_in_committer_ms:.1f} ms; last frame {phase.backlog_s:.1f} s after the "
            "last commit"
        )
    busy_s = after_paced["last_receipt"] - paced[0][1]
    per_commit = sum(one.frames_per_commit.values())
    missing = per_commit * COMMITS * CLIENTS - paced_frames
    print(
        f"  {many.label}: {paced_frames:,} frames delivered in {busy_s:.1f} s = {paced_frames / busy_s:,.0f} "
        f"frames/s over both server processes; {missing:,.0f} frames not sent, superseded while their connection "
        f"was busy (vs {per_commit:.2f} per commit and connection at 1 client); "
        f"client errors {len(client_errors)} {client_errors[:2]}"
    )
    reached = [span for count, span in fanout if count == CLIENTS]
    print(
        f"Fan-out of one flag change (catalog commit → the last of {CLIENTS:,} clients holds the new snapshot), "
        f"{FANOUT_REPEATS} changes {FANOUT_SPACING:.0f} s apart"
    )
    if reached:
        print(
            f"  median {statistics.median(reached):7.1f} ms   max {max(reached):7.1f} ms   "
            f"({statistics.median(reached) / redis_baseline.p50_ms:,.0f}× the Redis p50)   each: "
            + ", ".join(f"{span:.0f}" for span in reached)
            + " ms"
        )
    print(f"  changes that reached every client: {len(reached)} of {len(fanout)}")
    added_kib = sum(rss_after) - sum(rss_before)
    print(f"Memory, {CLIENTS:,} connections (opened in {opened_s:.1f} s, each holding the company)")
    print(
        f"  server RSS {sum(rss_before) / 1024:.1f} MiB → {sum(rss_after) / 1024:.1f} MiB (per process: "
        + ", ".join(f"{b / 1024:.1f} → {a / 1024:.1f}" for b, a in zip(rss_before, rss_after, strict=True))
        + f") = {added_kib / CLIENTS:.0f} KiB per connection"
    )
    print(f"Local check of {flag_key} for the held company (same documents)          median µs    p99 µs")
    print(
        f"  our engine: evaluate, trace off (bench.engine_eval.measure)     {ours[0]:13.2f} {ours[1]:9.2f}   "
        f"value {ours[2]}"
    )
    print(
        f"  SDK: AsyncSchematic.check_flag, datastream, {SDK_CHECKS} calls          {sdk[0]:13.1f} {sdk[1]:9.1f}   "
        f"value {sdk[2]}   {sdk[0] / ours[0]:,.0f}× ours"
    )
    if sdk_parts is not None:
        print(f"    of which envelope + WASM + parse (bench.engine_eval)          {sdk_parts[0]:13.1f}")
        print(f"    of which the WASM call alone                                  {sdk_parts[1]:13.1f}")


if __name__ == "__main__":
    main()

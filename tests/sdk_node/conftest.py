"""The official Schematic Node SDK against the real server: uvicorn in a thread, the SDK in a Node process per test.

``make node-sdk`` (a prerequisite of ``make test``) installs the pinned SDK with npm into ``.cache/node-sdk``. The
tests that need it are skipped, saying why, only when ``node``/``npm`` are missing or npm could not install it
(offline); when it was simply never installed, the fixture runs ``make node-sdk`` itself.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_started
from django.utils import timezone

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.datastream.broadcast import pushes_in_flight
from entitlements.documents.cache import memo_clear
from entitlements.documents.resolution import memo_clear as resolution_memo_clear
from entitlements.models import Company, UsageCounter
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create
from entitlements.services.subscriptions import subscription_put
from entitlements.services.users import user_create
from tests.sdk.conftest import AsgiServer, ThreadedServer, _free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SDK_DIR = ROOT / ".cache" / "node-sdk"
SDK_PACKAGE = "@schematichq/schematic-typescript-node"
SDK_VERSION = json.loads((HERE / "package.json").read_text())["dependencies"][SDK_PACKAGE]
SCENARIOS = HERE / "scenarios.mjs"
SCENARIO_TIMEOUT_SECONDS = 25.0
"""A scenario takes a second or two. The bound sits below the Node SDK's 30 s wait for a datastream answer, so an
answer the server failed to send fails the test instead of passing through the SDK's fallback to REST."""


@dataclass(frozen=True)
class NodeSdk:
    """Where ``make node-sdk`` installed the SDK, and the ``node`` to run scenarios with."""

    node: str
    directory: Path


def _installed_version() -> str | None:
    manifest = SDK_DIR / "node_modules" / SDK_PACKAGE / "package.json"
    if not (SDK_DIR / ".installed-stamp").exists() or not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


@pytest.fixture(scope="session")
def node_sdk() -> NodeSdk:
    """The pinned Node SDK; skipped (saying what to run) when node/npm are missing or npm could not install it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = "node" if node is None else "npm"
        pytest.skip(f"{missing} is not installed: install Node.js 18+ with npm, then run `make node-sdk`")
    if _installed_version() is None and not (SDK_DIR / "install-failed").exists():
        subprocess.run(["make", "--no-print-directory", "node-sdk"], cwd=ROOT, check=False, timeout=300)
    failed = SDK_DIR / "install-failed"
    if failed.exists():
        first = (failed.read_text().strip().splitlines() or ["no output"])[0]  # npm's error code
        pytest.skip(f"npm could not install {SDK_PACKAGE} ({first}); run `make node-sdk` when npm's registry answers")
    version = _installed_version()
    if version != SDK_VERSION:
        pytest.fail(f"{SDK_PACKAGE} {version} is installed in {SDK_DIR}, {SDK_VERSION} is pinned: run `make node-sdk`")
    return NodeSdk(node=node, directory=SDK_DIR)


@pytest.fixture
def server(transactional_db: None) -> Iterator[AsgiServer]:
    """uvicorn serving the application for this test, with a fresh API key and process memos emptied.

    One per test, not per module: each test starts by flushing the cache (``tests/conftest.py``), and with Redis
    that is the channel layer's database too, where the datastream group's members are kept; a server's hub joins
    the group with its first connection on a new event loop (starting one takes a few milliseconds)."""
    memo_clear()
    resolution_memo_clear()
    server = ThreadedServer(_free_port()).start()
    secret = api_key_create(actor=SYSTEM_ACTOR, name="node sdk tests").secret
    try:
        yield AsgiServer(url=f"http://127.0.0.1:{server.port}", api_secret=secret, server=server)
    finally:
        server.stop()


@pytest.fixture
def requests_seen() -> Iterator[list[str]]:
    """The paths of the HTTP requests the server received during the test (its own thread records them)."""
    paths: list[str] = []

    def receiver(sender: Any, scope: dict[str, Any] | None = None, environ: Any = None, **kwargs: Any) -> None:
        paths.append(scope["path"] if scope is not None else (environ or {}).get("PATH_INFO", ""))

    request_started.connect(receiver, weak=False, dispatch_uid="sdk-node-tests-requests")
    yield paths
    request_started.disconnect(dispatch_uid="sdk-node-tests-requests")


def flag_checks(paths: list[str]) -> list[str]:
    """The REST flag checks among ``paths``: what a check answered locally never sends."""
    return [path for path in paths if path.startswith("/flags/")]


@dataclass
class NodeRun:
    """What one scenario printed: its results by name, the SDK's warnings and errors, and how long it ran."""

    results: dict[str, Any] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __getitem__(self, name: str) -> Any:
        return self.results[name]


Waits = dict[str, Callable[[], None]]


@dataclass(frozen=True)
class NodeRunner:
    """Runs ``scenarios.mjs`` scenarios against one server."""

    sdk: NodeSdk
    server: AsgiServer

    def __call__(self, scenario: str, *, waits: Waits | None = None, params: dict[str, Any] | None = None) -> NodeRun:
        """Run ``scenario`` to its end: each ``wait`` it prints runs ``waits[label]`` here (the test's thread, with
        database access), then lets it go on. Fails the test on a scenario error, an unexpected wait or the timeout."""
        _quiet()
        env = {
            **os.environ,
            "SCHEMATIC_URL": self.server.url,
            "SCHEMATIC_API_KEY": self.server.api_secret,
            "NODE_SDK_DIR": str(self.sdk.directory),
            "SCENARIO_PARAMS": json.dumps(params or {}),
        }
        started = time.monotonic()
        process = subprocess.Popen(
            [self.sdk.node, str(SCENARIOS), scenario],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )
        try:
            run = _follow(process, waits or {}, deadline=started + SCENARIO_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        run.seconds = time.monotonic() - started
        return run


def _quiet() -> None:
    """Wait until the changes made so far (fixtures) have been pushed, so the SDK only sees later ones."""
    deadline = time.monotonic() + 5
    while pushes_in_flight() and time.monotonic() < deadline:
        time.sleep(0.01)


def _follow(process: subprocess.Popen[str], waits: Waits, *, deadline: float) -> NodeRun:
    assert process.stdout is not None and process.stdin is not None and process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def read_stderr() -> None:
        assert process.stderr is not None
        stderr.extend(process.stderr)

    threading.Thread(target=read_stdout, daemon=True).start()
    threading.Thread(target=read_stderr, daemon=True).start()
    run = NodeRun()
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the Node scenario did not finish in {SCENARIO_TIMEOUT_SECONDS} s; so far: {run}")
        if line is None:
            process.wait(timeout=10)
            pytest.fail(f"the Node scenario ended without finishing (exit {process.returncode}): {''.join(stderr)}")
        message = json.loads(line)
        if "result" in message:
            run.results[message["result"]] = message["value"]
        elif "log" in message:
            run.logs.append(f"{message['log']}: {message['message']}")
        elif "wait" in message:
            label = message["wait"]
            if label not in waits:
                pytest.fail(f"the Node scenario waits for {label!r}, which this test does not provide")
            waits[label]()
            process.stdin.write("go\n")
            process.stdin.flush()
        elif "error" in message:
            pytest.fail(f"the Node scenario failed: {message['error']}\nresults: {run.results}\nSDK logs: {run.logs}")
        elif message.get("done"):
            return run


@pytest.fixture
def node(node_sdk: NodeSdk, server: AsgiServer) -> NodeRunner:
    """Runs a Node SDK scenario against this test's server."""
    return NodeRunner(sdk=node_sdk, server=server)


LIMIT = 5
"""Generations a month on the free plan."""


@dataclass(frozen=True)
class World:
    """The catalog and companies the scenarios check (``scenarios.mjs`` names them by key)."""

    acme: Company
    globex: Company


@pytest.fixture
def world(transactional_db: None) -> World:
    """``sso`` (boolean) and ``ai-generations`` (event ``generation``); Free (initial: ``LIMIT`` generations a
    month, no SSO) and Pro (SSO, unlimited); Acme on Free with its user Ann, Globex on Pro."""
    actor = SYSTEM_ACTOR
    sso = catalog.feature_create(actor=actor, key="sso", name="SSO")
    generations = catalog.feature_create(
        actor=actor, key="ai-generations", name="AI generations", feature_type="event", event_name="generation"
    )
    free = catalog.plan_create(actor=actor, key="free", name="Free")
    pro = catalog.plan_create(actor=actor, key="pro", name="Pro")
    catalog.entitlement_create(
        actor=actor, plan=free, feature=generations, value_type="numeric", allocation=LIMIT,
        metric_period="current_month",
    )  # fmt: skip
    catalog.entitlement_create(actor=actor, plan=pro, feature=sso, value_type="boolean")
    catalog.entitlement_create(actor=actor, plan=pro, feature=generations, value_type="unlimited")
    now = timezone.now()
    acme = company_create(actor=actor, name="Acme", keys={"external_id": "acme"}, now=now)
    globex = company_create(actor=actor, name="Globex", keys={"external_id": "globex"}, now=now)
    subscription_put(actor=actor, company=globex, plan=pro, now=now)
    user_create(actor=actor, name="Ann", keys={"email": "ann@acme.test"}, companies=[acme])
    return World(acme=acme, globex=globex)


def generations_this_month(company: Company) -> int:
    """The company's count of ``generation`` events in the current calendar month, as the server keeps it."""
    counter = UsageCounter.objects.get(
        company=company, event_name="generation", period="current_month", month_reset="first_of_month"
    )
    return counter.value

"""Shared machinery of the benchmarks: a throw-away database, a seeded catalog, a real uvicorn server, and wrk.

The database follows ``DATABASE_URL``: PostgreSQL → a dedicated ``bench_mbo`` database on the same server (dropped and
recreated), otherwise a temporary SQLite file. ``REDIS_URL`` is passed through (a unique key prefix keeps runs apart).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SEED = Path(__file__).resolve().parent / "seed.py"


def bench_environment() -> dict[str, str]:
    """Environment variables for every process of one benchmark run."""
    env = dict(os.environ)
    source = os.environ.get("DATABASE_URL", "")
    if source.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(source)
        env["DATABASE_URL"] = urlunparse(parsed._replace(path="/bench_mbo"))
        env["BENCH_ADMIN_DATABASE_URL"] = source
    else:
        env["DATABASE_URL"] = f"sqlite:///{tempfile.gettempdir()}/bench_mbo.sqlite3"
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-" + secrets.token_hex(16),
        CACHE_KEY_PREFIX="bench-" + secrets.token_hex(4),
        PYTHONPATH=str(ROOT),
    )
    return env


def database_kind(env: dict[str, str]) -> str:
    return "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"


def database_reset(env: dict[str, str]) -> None:
    """Drop and recreate the benchmark database, then migrate it."""
    if database_kind(env) == "PostgreSQL":
        import psycopg

        with psycopg.connect(env["BENCH_ADMIN_DATABASE_URL"], autocommit=True) as connection:
            connection.execute("DROP DATABASE IF EXISTS bench_mbo WITH (FORCE)")
            connection.execute("CREATE DATABASE bench_mbo")
    else:
        Path(env["DATABASE_URL"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def django_run(env: dict[str, str], code: str) -> str:
    """Run Python with Django set up (settings from ``env``) and return what it printed."""
    program = "import django; django.setup()\n" + code
    done = subprocess.run([PYTHON, "-c", program], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def seed(env: dict[str, str]) -> dict[str, str]:
    """Seed the benchmark catalog (``bench/seed.py``) and return what it printed: the secret and the keys to use."""
    printed = django_run(env, f"import runpy; runpy.run_path({str(SEED)!r}, run_name='__main__')")
    return dict(json.loads(printed.strip().splitlines()[-1]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_server(env: dict[str, str], *, workers: int, options: Sequence[str] = ()) -> Iterator[str]:
    """A uvicorn server with ``workers`` processes serving the product (plus the trivial view), with further uvicorn
    ``options``; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--lifespan", "off", "--log-level", "warning", "--no-access-log", *options],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Schematic-Api-Key"] = {secret}
"""


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_post(url: str, *, body: Mapping[str, object], secret: str, seconds: int, connections: int) -> LoadResult:
    """Load ``url`` with POSTs from wrk (2 threads) and read its throughput and latency percentiles."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for this benchmark: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(body=json.dumps(json.dumps(body)), secret=json.dumps(secret)))
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    output = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return LoadResult(rps, p50, p99, int(errors_match.group(1)) if errors_match else 0)

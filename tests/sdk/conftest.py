"""The real ASGI server (uvicorn) on a free port, for tests that drive it with the official Schematic SDK.

The server runs in a thread of the test process, so it shares the test database (committed data: these tests use
``transactional_db``) and, on the embedded defaults, the local-memory cache.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from core.actors import SYSTEM_ACTOR
from entitlements.documents.cache import memo_clear
from entitlements.documents.resolution import memo_clear as resolution_memo_clear
from entitlements.services.api_keys import api_key_create


@dataclass(frozen=True)
class AsgiServer:
    url: str
    api_secret: str
    server: ThreadedServer | None = None  # None: served by another process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn serving ``config.asgi:application`` in a thread of the test process, on ``port``."""

    def __init__(self, port: int) -> None:
        from config.asgi import application

        self.port = port
        self._server = uvicorn.Server(
            uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        # One request registers the server's event loop for datastream pushes, as the lifespan does in production.
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5).close()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[AsgiServer]:
    """uvicorn serving ``config.asgi:application``, and an API key for it; stopped after the test."""
    memo_clear()
    resolution_memo_clear()
    server = ThreadedServer(_free_port()).start()
    secret = api_key_create(actor=SYSTEM_ACTOR, name="sdk tests").secret
    try:
        yield AsgiServer(url=f"http://127.0.0.1:{server.port}", api_secret=secret, server=server)
    finally:
        server.stop()

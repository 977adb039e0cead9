"""The in-thread uvicorn server of the SDK tests, and a count of the REST flag checks it receives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_started

from tests.sdk.conftest import AsgiServer, asgi_server  # noqa: F401


@pytest.fixture
def rest_flag_calls() -> Iterator[list[str]]:
    """The paths of the flag-check REST requests the server received (``/flags/...``)."""
    calls: list[str] = []

    def receiver(sender: Any, scope: dict[str, Any] | None = None, environ: Any = None, **kwargs: Any) -> None:
        path = scope["path"] if scope is not None else (environ or {}).get("PATH_INFO", "")
        if path.startswith("/flags/"):
            calls.append(path)

    request_started.connect(receiver, weak=False, dispatch_uid="datastream-tests-rest-calls")
    yield calls
    request_started.disconnect(dispatch_uid="datastream-tests-rest-calls")

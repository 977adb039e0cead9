"""Re-export the in-thread uvicorn server of the SDK tests."""

from tests.sdk.conftest import AsgiServer, asgi_server  # noqa: F401

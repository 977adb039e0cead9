"""ASGI entry point ``config.asgi:application``: Django over HTTP, Channels consumers over WebSocket.

Around them: the serving event loop is registered for datastream pushes (``entitlements.datastream.broadcast``), and the
lifespan protocol starts the periodic jobs in a thread of the server when ``PERIODIC_JOBS_IN_SERVER`` is on (the
embedded defaults; run uvicorn with ``--lifespan on``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models (the WebSocket routes do).
django_asgi_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from entitlements.datastream.broadcast import serving_loop_set  # noqa: E402
from entitlements.jobs.scheduler import InServerScheduler  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


async def _lifespan(receive: Any, send: Any) -> None:
    scheduler: InServerScheduler | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.PERIODIC_JOBS_IN_SERVER:
                scheduler = InServerScheduler()
                scheduler.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if scheduler is not None:
                await asyncio.to_thread(scheduler.stop)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    serving_loop_set(asyncio.get_running_loop())
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await router(scope, receive, send)

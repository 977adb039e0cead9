"""WebSocket routes, served by Channels at the host root (the SDKs derive ``/datastream`` from ``base_url``).

The datastream consumer joins this list with the real-time issue; until then every WebSocket is refused.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []

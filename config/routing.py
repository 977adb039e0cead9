"""WebSocket routes, served by Channels at the host root (the SDKs derive ``/datastream`` from ``base_url``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from entitlements.datastream.consumers import DatastreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("datastream", DatastreamConsumer.as_asgi()),
]

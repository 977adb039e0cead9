"""``/api/docs/`` works without internet: Swagger UI and its assets are served from the project's static files."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.test import Client


def test_api_docs__swagger_ui__every_asset_from_our_static_files(client: Client, settings) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert assets, html[:500]
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), f"{asset} is not served by the project"
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), f"{asset} is missing from the static files"
    assert "cdn." not in html and "jsdelivr" not in html
    # the UI reads the schema from this server
    assert "/api/schema/" in html

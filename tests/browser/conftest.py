"""Chromium, driven by Playwright, against the real server (pytest-django's live server, static files included).

Debian's Chromium (``/usr/bin/chromium``) is installed by ``make browser`` (as root; ``.ci/run`` does it); where it is
missing the browser tests are skipped with that instruction. Playwright never downloads a browser here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-tests-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the browser tests. Package-scoped, not session-scoped: Playwright's sync API keeps an
    event loop running in this thread while it is open, and the tests after these need the thread free of one."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium: run `make browser` as root (Debian's package)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still plain sync code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def demo_data(transactional_db: None, settings: Any, tmp_path: Path) -> None:
    """The demo data of ``make run``."""
    settings.BASE_DIR = tmp_path  # the demo admin's password file
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def signed_in(chromium: Any, live_server: Any, demo_data: None) -> Iterator[Any]:
    """A browser page signed in to the back-office as a superuser, through the login form, 1440 px wide."""
    get_user_model().objects.create_superuser("ae-root", "root@example.test", PASSWORD)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ae-root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.base_url = live_server.url
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot: under ``docs/screenshots/`` when ``SCREENSHOTS=1`` (to refresh the docs), else in
    a temporary folder (the test still renders and captures the page)."""
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else Path(os.environ.get("TMPDIR", "/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

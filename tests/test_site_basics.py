"""The small things a person meets first: the root, the favicon, the admin's header links, HTTPS settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def test_root__redirects_to_the_back_office(client: Client) -> None:
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_favicon__served_from_static_files(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.ico"
    found = finders.find("favicon.ico")
    assert found and Path(found).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_admin__no_view_site_link_to_a_page_that_does_not_exist(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert "View site" not in page


def test_check_deploy__https_settings_set__no_security_warning() -> None:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_SECURE_HSTS_SECONDS": "31536000",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_SECURE_HSTS_PRELOAD": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

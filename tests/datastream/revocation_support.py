"""Helpers of the key revocation tests: revoking a key as a person does (the back-office action, over HTTP), and
reading a socket until the server closes it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from django.contrib.auth import get_user_model
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from entitlements.models import ApiKey

STAFF_PASSWORD = "revocation-tests-password"


def staff_member_create() -> str:
    """A superuser who signs in to the back-office with ``STAFF_PASSWORD``; returns the username."""
    get_user_model().objects.create_superuser("key-keeper", "keeper@example.test", STAFF_PASSWORD)
    return "key-keeper"


def admin_revoke(server_url: str, username: str, api_key: ApiKey) -> None:
    """Sign in to the back-office of the server at ``server_url`` through its login form and run the changelist's
    "Revoke the selected API keys" action on ``api_key``, as a person does in a browser."""
    with httpx.Client(base_url=server_url, timeout=10) as browser:
        browser.get("/admin/login/")
        signed_in = browser.post(
            "/admin/login/?next=/admin/",
            data={
                "username": username,
                "password": STAFF_PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                "next": "/admin/",
            },
        )
        assert signed_in.status_code == 302 and signed_in.headers["location"] == "/admin/", signed_in.text
        changelist = "/admin/entitlements/apikey/"
        browser.get(changelist)
        done = browser.post(
            changelist,
            data={
                "action": "revoke",
                "index": "0",
                "_selected_action": [str(api_key.pk)],
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert done.status_code == 302, done.text
        assert "Revoked 1 key(s)." in browser.get(changelist).text


async def frames_until_closed(ws: ClientConnection, timeout: float) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the socket receives until the server closes it, and the close code the server sent;
    ``TimeoutError`` if it is still open after ``timeout`` seconds."""
    frames: list[dict[str, Any]] = []

    async def read() -> int | None:
        try:
            async for raw in ws:
                frames.append(json.loads(raw))
        except ConnectionClosed as closed:  # a close code other than 1000/1001 ends the iteration with this
            return closed.rcvd.code if closed.rcvd is not None else None
        return ws.close_code

    code = await asyncio.wait_for(read(), timeout=timeout)
    return frames, code

"""The datastream (PROTOCOL.md §3): the messages the SDKs receive, and the after-commit broadcasts of changes.

Every datastream connection joins the channel-layer group ``datastream``. A write that changes a company calls
``entitlements.changes.company_changed_on_commit`` (which calls ``datastream_company_changed_on_commit``); a catalog
write bumps the catalog token, and ``datastream_on_committed_bump`` hears that after commit. Then every connection (in
every process, through Redis in production) is told, loads the fresh document and pushes it to its SDK.
"""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from core.versions import CATALOG_VERSION
from entitlements.document_cache import company_id_for_keys, documents_get, flags_get, user_id_for_keys

logger = logging.getLogger(__name__)

GROUP = "datastream"
"""The channel-layer group every datastream connection joins."""

FLAGS = "rulesengine.Flags"
COMPANY = "rulesengine.Company"
USER = "rulesengine.User"
ENTITY_TYPES = (FLAGS, COMPANY, USER)

COMPANY_CHANGED = "company.changed"
FLAGS_CHANGED = "flags.changed"

Message = dict[str, Any]


# --- Messages ------------------------------------------------------------------------------------------------------


def flags_message() -> Message:
    """The complete flag snapshot, in one message (the SDK deletes every cached flag not in it)."""
    return {"entity_type": FLAGS, "message_type": "full", "data": flags_get().documents}


def _full(entity_type: str, document: dict[str, Any]) -> Message:
    return {"entity_type": entity_type, "message_type": "full", "entity_id": document["id"], "data": document}


def company_message(company_id: int) -> Message | None:
    """A ``full`` message with the company's current document; ``None`` if the company no longer exists."""
    company = documents_get(company_id=company_id, user_id=None, now=timezone.now()).company
    return _full(COMPANY, company.document) if company is not None else None


def user_message(user_id: int) -> Message | None:
    """A ``full`` message with the user's current document; ``None`` if the user no longer exists."""
    user = documents_get(company_id=None, user_id=user_id, now=timezone.now()).user
    return _full(USER, user.document) if user is not None else None


def error_message(error: str, *, entity_type: str | None = None, keys: dict[str, str] | None = None) -> Message:
    """An ``error`` message. With ``keys`` and ``entity_type`` the SDK fails that pending request at once (→ REST)."""
    data: dict[str, Any] = {"error": error}
    if keys is not None and entity_type is not None:
        data["keys"] = keys
        data["entity_type"] = entity_type
    return {"entity_type": entity_type or "", "message_type": "error", "data": data}


def _keys_valid(keys: Any) -> TypeGuard[dict[str, str]]:
    return (
        isinstance(keys, dict)
        and bool(keys)
        and all(isinstance(name, str) and isinstance(value, str) for name, value in keys.items())
    )


def response_for_request(payload: Any) -> Message:
    """The answer to one client message (already JSON-decoded): a snapshot, an entity, or an ``error``."""
    request = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(request, dict):
        return error_message("message must be a JSON object with a 'data' object")
    if request.get("action") != "start":
        return error_message(f"unsupported action {request.get('action')!r}")
    entity_type = request.get("entity_type")
    if entity_type not in ENTITY_TYPES:
        return error_message(f"unsupported entity_type {entity_type!r}")
    if entity_type == FLAGS:
        return flags_message()
    keys = request.get("keys")
    if not _keys_valid(keys):
        return error_message("keys must be a non-empty object of strings")
    if entity_type == COMPANY:
        company_id = company_id_for_keys(keys)
        found = company_message(company_id) if company_id is not None else None
        return found or error_message("company not found", entity_type=COMPANY, keys=keys)
    user_id = user_id_for_keys(keys)
    found = user_message(user_id) if user_id is not None else None
    return found or error_message("user not found", entity_type=USER, keys=keys)


# --- Broadcasts ----------------------------------------------------------------------------------------------------


def _group_send(event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, event)
    except Exception:  # a broadcast that fails must not fail the committed write; clients reconcile on reconnect
        logger.exception("datastream broadcast %s failed", event.get("type"))


def datastream_company_changed_on_commit(company_id: int) -> None:
    """After commit, push the company's fresh document to every datastream connection."""
    transaction.on_commit(lambda: _group_send({"type": COMPANY_CHANGED, "company_id": company_id}))


def datastream_on_committed_bump(names: list[str]) -> None:
    """A committed catalog change (features, plans, entitlements, …) pushes a fresh flag snapshot to every connection.

    Registered with ``core.versions.versions_on_committed_bump`` when the app starts.
    """
    if CATALOG_VERSION in names:
        _group_send({"type": FLAGS_CHANGED})

"""The datastream's messages (PROTOCOL.md §3): answers to client requests, and the pushes of changes.

What is pushed for a change (``render_push``), chosen so that an SDK never caches a company it did not ask for
(its cache is an LRU of 1,000 entries) and never keeps stale data:

* a company or user whose document changed → a ``partial`` carrying the whole document. SDKs that hold the entity
  replace every field (``keys``, ``credit_balances`` and ``metrics`` merge, the rest is replaced); the others ignore it.
* usage or credit balances changed → a ``partial`` with ``metrics`` and ``credit_balances`` only; the SDK patches the
  usage and remaining credits of its cached entitlements itself.
* a key was removed → a ``delete`` carrying the complete current document: a partial cannot remove a key, so holders
  drop the entity with all its key mappings and ask again on their next check.
* the entity was deleted → a ``delete`` carrying its last complete document.
* the catalog changed → the complete ``rulesengine.Flags`` snapshot.

Which changes are pushed, when and to whom is ``entitlements.datastream.broadcast``'s job.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any, TypeGuard

from django.utils import timezone

from entitlements.documents.cache import company_id_for_keys, documents_get, flags_get, user_id_for_keys

FLAGS = "rulesengine.Flags"
COMPANY = "rulesengine.Company"
USER = "rulesengine.User"
ENTITY_TYPES = (FLAGS, COMPANY, USER)

Message = dict[str, Any]


class PushEntity(StrEnum):
    """What a push is about: the flag snapshot (id 0), a company or a user."""

    FLAGS = "flags"
    COMPANY = "company"
    USER = "user"


class PushChange(StrEnum):
    """What happened to the entity: its usage or credit balances, its document, a key removed, or the entity
    deleted. Items cross the channel layer as plain strings, which compare equal to these."""

    USAGE = "usage"
    DOCUMENT = "document"
    REKEYED = "rekeyed"
    DELETED = "deleted"


CHANGE_RANK: dict[str, int] = {
    PushChange.USAGE: 1,
    PushChange.DOCUMENT: 2,
    PushChange.REKEYED: 3,
    PushChange.DELETED: 4,
}
"""When several changes of one entity are pushed together, the strongest one is sent: it carries the others."""


# --- Messages ------------------------------------------------------------------------------------------------------


def flags_message() -> Message:
    """The complete flag snapshot, in one message (the SDK deletes every cached flag not in it)."""
    return {"entity_type": FLAGS, "message_type": "full", "data": flags_get().documents}


def _envelope(entity_type: str, message_type: str, document: dict[str, Any], data: Any = None) -> Message:
    return {
        "entity_type": entity_type,
        "message_type": message_type,
        "entity_id": document["id"],
        "data": document if data is None else data,
    }


def _full(entity_type: str, document: dict[str, Any]) -> Message:
    return _envelope(entity_type, "full", document)


def company_message(company_id: int) -> Message | None:
    """A ``full`` message with the company's current document; ``None`` if the company no longer exists."""
    document = company_document(company_id, now=timezone.now())
    return _full(COMPANY, document) if document is not None else None


def user_message(user_id: int) -> Message | None:
    """A ``full`` message with the user's current document; ``None`` if the user no longer exists."""
    document = user_document(user_id)
    return _full(USER, document) if document is not None else None


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


# --- Pushes --------------------------------------------------------------------------------------------------------


def encode(message: Message) -> str:
    """The text frame of a message."""
    return json.dumps(message, separators=(",", ":"), default=str)


def company_document(company_id: int, *, now: dt.datetime) -> dict[str, Any] | None:
    """The company's current wire document; ``None`` if it no longer exists."""
    company = documents_get(company_id=company_id, user_id=None, now=now).company
    return company.document if company is not None else None


def user_document(user_id: int) -> dict[str, Any] | None:
    """The user's current wire document; ``None`` if the user no longer exists."""
    user = documents_get(company_id=None, user_id=user_id, now=timezone.now()).user
    return user.document if user is not None else None


def render_push(
    entity: str, entity_id: int, change: str, last_document: dict[str, Any] | None, *, now: dt.datetime
) -> str | None:
    """The text frame that tells every SDK about one change, read from the current state (so a push is never older
    than what was committed before it was rendered); ``None`` when there is nothing to send.

    ``last_document`` is the entity's document from before its deletion (``change == "deleted"``).
    """
    if entity == PushEntity.FLAGS:
        return encode(flags_message())
    entity_type = COMPANY if entity == PushEntity.COMPANY else USER
    if change == PushChange.DELETED:
        return encode(_envelope(entity_type, "delete", last_document)) if last_document else None
    document = company_document(entity_id, now=now) if entity == PushEntity.COMPANY else user_document(entity_id)
    if document is None:  # deleted since: its own push (with the last document) tells the SDKs
        return None
    if change == PushChange.REKEYED:
        return encode(_envelope(entity_type, "delete", document))
    if change == PushChange.USAGE and entity == PushEntity.COMPANY:
        usage = {"metrics": document["metrics"], "credit_balances": document["credit_balances"]}
        return encode(_envelope(entity_type, "partial", document, usage))
    return encode(_envelope(entity_type, "partial", document))

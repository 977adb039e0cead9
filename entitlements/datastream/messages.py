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

A company push is a ``CompanyPush``: the connection sends it as it is, or as a ``full`` to an SDK that holds the company
with other values of the fields the Node SDK's partial merge ignores (``NODE_UNMERGED_FIELDS``; see
``entitlements.datastream.holdings``). Every document leaves with its collections filled (``[]``, never ``null``:
``entitlements.documents.wire.collections_filled``), which the Node SDK requires.

Requests (``response_for_request``) come from both SDKs: the Python SDK sends ``"action": "start"``, the Node SDK no
``action`` at all; both mean start. Which changes are pushed, when and to whom is
``entitlements.datastream.broadcast``'s job. docs/sdk-protocol.md says where the SDKs differ.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

from django.utils import timezone

from entitlements.documents.cache import company_id_for_keys, documents_get, flags_get, user_id_for_keys
from entitlements.documents.wire import COMPANY_SHAPE, FLAG_SHAPE, USER_SHAPE, collections_filled

FLAGS = "rulesengine.Flags"
COMPANY = "rulesengine.Company"
USER = "rulesengine.User"
ENTITY_TYPES = (FLAGS, COMPANY, USER)
START = "start"
"""The one action a request may name; a request naming none (the Node SDK's) means it too."""

NODE_UNMERGED_FIELDS = ("credit_postpaid", "credit_spend_policies")
"""Company fields the Node SDK's partial merge ignores (it keeps the values of its last ``full``): a change of any of
them reaches a Node SDK only in a ``full`` (or after a ``delete``)."""

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
    """The complete flag snapshot, in one message (the SDK deletes every cached flag not in it); ``[]`` when there
    are no flags, so an SDK waiting for it (the Node SDK is not ready until it arrives) always gets an answer."""
    flags = [collections_filled(flag, FLAG_SHAPE) for flag in flags_get().documents]
    return {"entity_type": FLAGS, "message_type": "full", "data": flags}


def _wire(entity_type: str, document: dict[str, Any]) -> dict[str, Any]:
    """The document as it is sent: every collection present, none ``null``."""
    return collections_filled(document, COMPANY_SHAPE if entity_type == COMPANY else USER_SHAPE)


def _envelope(entity_type: str, message_type: str, document: dict[str, Any], data: Any = None) -> Message:
    return {
        "entity_type": entity_type,
        "message_type": message_type,
        "entity_id": document["id"],
        "data": _wire(entity_type, document) if data is None else data,
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
    action = request.get("action")
    if action is not None and action != START:  # the Node SDK sends no action: a request without one starts too
        return error_message(f"unsupported action {action!r}")
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


def unmerged_fingerprint(document: dict[str, Any]) -> str:
    """The company document's ``NODE_UNMERGED_FIELDS`` as one string, equal for equal values."""
    return json.dumps({name: document.get(name) for name in NODE_UNMERGED_FIELDS}, sort_keys=True, default=str)


@dataclass(slots=True, eq=False)
class CompanyPush:
    """A push about one company, rendered once per process and shared by all its connections.

    ``text`` is what a connection sends by default: a ``partial``, or a ``delete`` when ``deleted``. ``unmerged`` is
    the current document's ``unmerged_fingerprint`` (``None`` for a delete) and ``full_text()`` the same state as a
    ``full``: what a connection sends instead to an SDK holding the company with other values of those fields
    (``entitlements.datastream.holdings``), since a Node SDK would keep its stale ones from a partial. Only used on
    the event loop that sends it."""

    company_id: str  # the public id (the documents' ``id``)
    text: str
    deleted: bool = False
    unmerged: str | None = None
    document: dict[str, Any] | None = None
    _full_text: str | None = field(default=None, repr=False)

    def full_text(self) -> str:
        """The ``full`` message of the pushed state (encoded once, on first use)."""
        if self.document is None:
            raise ValueError("a delete has no full form")
        if self._full_text is None:
            self._full_text = encode(_full(COMPANY, self.document))
        return self._full_text


Push = str | CompanyPush
"""What a push renders to: the text frame, or for a company a ``CompanyPush``."""


def render_push(
    entity: str, entity_id: int, change: str, last_document: dict[str, Any] | None, *, now: dt.datetime
) -> Push | None:
    """What tells every SDK about one change, read from the current state (so a push is never older than what was
    committed before it was rendered): a text frame (flags, users) or a ``CompanyPush``; ``None`` when there is
    nothing to send.

    ``last_document`` is the entity's document from before its deletion (``change == "deleted"``).
    """
    if entity == PushEntity.FLAGS:
        return encode(flags_message())
    entity_type = COMPANY if entity == PushEntity.COMPANY else USER
    if change == PushChange.DELETED:
        if not last_document:
            return None
        text = encode(_envelope(entity_type, "delete", last_document))
        return CompanyPush(last_document["id"], text, deleted=True) if entity_type == COMPANY else text
    document = company_document(entity_id, now=now) if entity == PushEntity.COMPANY else user_document(entity_id)
    if document is None:  # deleted since: its own push (with the last document) tells the SDKs
        return None
    if entity_type == USER:
        return encode(_envelope(USER, "delete" if change == PushChange.REKEYED else "partial", document))
    if change == PushChange.REKEYED:
        return CompanyPush(document["id"], encode(_envelope(COMPANY, "delete", document)), deleted=True)
    wire = _wire(COMPANY, document)
    data = {"metrics": wire["metrics"], "credit_balances": wire["credit_balances"]}
    text = encode(_envelope(COMPANY, "partial", wire, data if change == PushChange.USAGE else wire))
    return CompanyPush(document["id"], text, unmerged=unmerged_fingerprint(wire), document=wire)

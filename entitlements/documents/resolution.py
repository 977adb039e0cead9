"""Who is asking and about whom: a check's API key, company and user, resolved with one cache round trip.

The shared cache (``document_cache``, ``selectors.api_key_identity_get``) already avoids the database; this module
avoids the extra round trips too. Each process remembers what it resolved together with the version token that would
change if the answer changed:

* an API key's identity, checked against ``apikeys`` (bumped by every revocation);
* a key pair that names company *C*, checked against C's own token (bumped by every change of C's keys);
* a key pair that names nobody, checked against ``keys`` (bumped whenever any key is added or changed).

A warm check then reads those tokens together with the document tokens in one ``MGET``. A token that moved means "look
it up again", so answers are exactly as fresh as with the shared cache alone: the next check sees a committed change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from core.versions import versions_get
from entitlements.documents.cache import (
    KEYS_EPOCH,
    Documents,
    _Memo,
    company_id_by_public_id,
    company_ids_by_pair,
    company_version_name,
    document_version_names,
    documents_for_tokens,
    user_ids_by_pair,
    user_version_name,
)
from entitlements.selectors import API_KEYS_EPOCH, ApiKeyIdentity, api_key_identity_get, api_key_secret_hash

_memo = _Memo(50_000)


@dataclass(frozen=True, slots=True)
class Resolution:
    """A check's caller (``None``: unknown or revoked key) and the documents to evaluate against."""

    identity: ApiKeyIdentity | None
    documents: Documents | None
    company_missing: bool


@dataclass(frozen=True, slots=True)
class _Kind:
    prefix: str
    version_name: Callable[[int], str]
    lookup: Callable[[dict[str, str]], list[int | None]]


_COMPANY = _Kind("c", company_version_name, company_ids_by_pair)
_USER = _Kind("u", user_version_name, user_ids_by_pair)


def _memo_key(kind: _Kind, name: str, value: str) -> str:
    return f"{kind.prefix}:{name.lower()}\x00{value.lower()}"


def _remembered(kind: _Kind, keys: dict[str, str]) -> list[tuple[int | None, str]] | None:
    """What this process resolved each pair to, with the token it was checked against; ``None`` if any is new."""
    entries = [_memo.get(_memo_key(kind, name, value)) for name, value in keys.items()]
    return None if any(entry is None for entry in entries) else entries


def _still_valid(kind: _Kind, entries: list[tuple[int | None, str]], tokens: dict[str, str]) -> bool:
    return all(
        token == tokens.get(kind.version_name(owner) if owner is not None else KEYS_EPOCH) for owner, token in entries
    )


def _first(owners: list[int | None]) -> int | None:
    return next((owner for owner in owners if owner is not None), None)


def _resolve_again(kind: _Kind, keys: dict[str, str], tokens: dict[str, str]) -> list[int | None]:
    """Look the pairs up in the shared cache and remember each with the token it will be checked against."""
    owners = kind.lookup(keys)
    missing = [kind.version_name(owner) for owner in owners if owner is not None]
    tokens.update(versions_get([name for name in missing if name not in tokens]) if missing else {})
    for (name, value), owner in zip(keys.items(), owners, strict=True):
        token = tokens[kind.version_name(owner)] if owner is not None else tokens[KEYS_EPOCH]
        _memo.put(_memo_key(kind, name, value), (owner, token))
    return owners


def check_resolve(
    *, secret: str, company_keys: dict[str, str] | None, user_keys: dict[str, str] | None, now: dt.datetime
) -> Resolution:
    """Authenticate the secret, find the company and user by any of their keys, and load their documents."""
    secret_hash = api_key_secret_hash(secret)
    identity_entry = _memo.get(f"id:{secret_hash}")
    company_entries = _remembered(_COMPANY, company_keys) if company_keys else []
    user_entries = _remembered(_USER, user_keys) if user_keys else []
    company_id = _first([owner for owner, _ in company_entries or []])
    user_id = _first([owner for owner, _ in user_entries or []])
    owner_names = [_COMPANY.version_name(o) for o, _ in company_entries or [] if o is not None]
    owner_names += [_USER.version_name(o) for o, _ in user_entries or [] if o is not None]
    names = [API_KEYS_EPOCH, KEYS_EPOCH, *document_version_names(company_id=None, user_id=None), *owner_names]
    tokens = versions_get(list(dict.fromkeys(names)))  # the one round trip of a warm check

    if identity_entry is None or identity_entry[1] != tokens[API_KEYS_EPOCH]:
        identity_entry = (api_key_identity_get(secret=secret), tokens[API_KEYS_EPOCH])
        _memo.put(f"id:{secret_hash}", identity_entry)
    identity = identity_entry[0]
    if identity is None:
        return Resolution(identity=None, documents=None, company_missing=False)

    if company_keys:
        if company_entries is None or not _still_valid(_COMPANY, company_entries, tokens):
            company_id = _first(_resolve_again(_COMPANY, company_keys, tokens))
        if company_id is None:
            company_id = company_id_by_public_id(company_keys)
    if user_keys and (user_entries is None or not _still_valid(_USER, user_entries, tokens)):
        user_id = _first(_resolve_again(_USER, user_keys, tokens))
    missing = [n for n in document_version_names(company_id=company_id, user_id=user_id) if n not in tokens]
    if missing:
        tokens.update(versions_get(missing))
    documents = documents_for_tokens(company_id=company_id, user_id=user_id, tokens=tokens, now=now)
    return Resolution(identity, documents, company_missing=bool(company_keys) and documents.company is None)


def memo_clear() -> None:
    """Forget this process's resolutions (tests)."""
    _memo.clear()

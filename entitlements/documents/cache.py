"""Compiled documents, cached under version tokens so that every process sees a committed change at once.

Reading a company's documents costs, on a warm cache, one cache round trip for the version tokens and nothing else:
the prepared engine objects of the current tokens are kept in this process (a bounded LRU), the compiled JSON in the
shared cache (Redis in production), and only a miss compiles from the database. A write's domain events bump the tokens
(``entitlements.documents.staleness``, at emit and after commit); the next read anywhere then misses and recompiles. A
document whose metric window has ended is recompiled too (``valid_until``), so a new day, week or month starts from
zero without any write.

Company and user lookups by key are cached the same way (``ckey:``/``ukey:`` entries, ``0`` meaning "no such
company"), and forgotten after commit by every write that adds, changes or removes a key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from core.versions import CATALOG_VERSION, versions_bump_on_commit, versions_get
from entitlements import engine
from entitlements.documents.compiler import (
    CompiledDocument,
    company_document_compile,
    company_documents_compile,
    flags_compile,
    user_document_compile,
)
from entitlements.models import Company
from entitlements.selectors import company_ids_for_keys, user_ids_for_keys

CATALOG = CATALOG_VERSION
_DOCUMENT_TTL_SECONDS = 24 * 3600
_KEY_TTL_SECONDS = 24 * 3600
_MEMO_SIZE = 20_000


def company_version_name(company_id: int) -> str:
    """The version token name of a company's documents (the one place it is built)."""
    return f"company:{company_id}"


def user_version_name(user_id: int) -> str:
    """The version token name of a user's documents."""
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class FlagSet:
    """Every flag, prepared for the engine, by lower-cased key; and the wire documents in key order."""

    by_key: dict[str, engine.Flag]
    documents: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PreparedCompany:
    """A company's compiled document and its engine form."""

    company: engine.Company
    compiled: CompiledDocument

    @property
    def document(self) -> dict[str, Any]:
        return self.compiled.document

    @property
    def valid_until(self) -> dt.datetime | None:
        return self.compiled.valid_until

    @property
    def plan(self) -> dict[str, Any] | None:
        return self.compiled.plan


@dataclass(frozen=True, slots=True)
class PreparedUser:
    user: engine.User
    document: dict[str, Any]


class _Memo:
    """A small thread-safe LRU of prepared objects, keyed by cache key (which embeds the version tokens)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, item: Any) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_memo = _Memo(_MEMO_SIZE)


def memo_clear() -> None:
    """Forget this process's prepared objects (tests; the shared cache is the source of truth)."""
    _memo.clear()


def _flags(token: str) -> FlagSet:
    key = f"doc:flags:{token}"
    prepared = _memo.get(key)
    if prepared is None:
        documents = cache.get(key)
        if documents is None:
            documents = flags_compile()
            cache.set(key, documents, timeout=_DOCUMENT_TTL_SECONDS)
        prepared = FlagSet({doc["key"].lower(): engine.prepare_flag(doc) for doc in documents}, documents)
        _memo.put(key, prepared)
    return prepared


def _company_key(company_id: int, tokens: dict[str, str]) -> str:
    return f"doc:company:{company_id}:{tokens[company_version_name(company_id)]}:{tokens[CATALOG]}"


def _company_memo(key: str, now: dt.datetime) -> PreparedCompany | None:
    """The prepared document kept in this process under ``key``, if it is still true at ``now``."""
    prepared: PreparedCompany | None = _memo.get(key)
    if prepared is not None and (prepared.valid_until is None or now < prepared.valid_until):
        return prepared
    return None


def _still_true(compiled: CompiledDocument | None, now: dt.datetime) -> bool:
    return compiled is not None and (compiled.valid_until is None or now < compiled.valid_until)


def _company_prepare(key: str, compiled: CompiledDocument) -> PreparedCompany:
    prepared = PreparedCompany(engine.prepare_company(compiled.document), compiled)
    _memo.put(key, prepared)
    return prepared


def _company(company_id: int, tokens: dict[str, str], now: dt.datetime) -> PreparedCompany | None:
    key = _company_key(company_id, tokens)
    prepared = _company_memo(key, now)
    if prepared is not None:
        return prepared
    compiled: CompiledDocument | None = cache.get(key)
    if compiled is None or not _still_true(compiled, now):
        compiled = company_document_compile(company_id=company_id, now=now)
        if compiled is None:
            return None
        cache.set(key, compiled, timeout=_DOCUMENT_TTL_SECONDS)
    return _company_prepare(key, compiled)


def _companies(company_ids: Sequence[int], tokens: dict[str, str], now: dt.datetime) -> dict[int, PreparedCompany]:
    """``_company`` of many companies: those not kept in this process in one cache round trip, those not cached in
    one compile round (``company_documents_compile``) and one write. Absent: no such company."""
    prepared: dict[int, PreparedCompany] = {}
    missing: dict[int, str] = {}
    for company_id in company_ids:
        key = _company_key(company_id, tokens)
        kept = _company_memo(key, now)
        if kept is not None:
            prepared[company_id] = kept
        else:
            missing[company_id] = key
    if not missing:
        return prepared
    cached = cache.get_many(list(missing.values()))
    stale = []
    for company_id, key in missing.items():
        compiled = cached.get(key)
        if compiled is not None and _still_true(compiled, now):
            prepared[company_id] = _company_prepare(key, compiled)
        else:
            stale.append(company_id)
    if stale:
        compiled_now = company_documents_compile(company_ids=stale, now=now)
        cache.set_many({missing[pk]: compiled for pk, compiled in compiled_now.items()}, timeout=_DOCUMENT_TTL_SECONDS)
        for company_id, compiled in compiled_now.items():
            prepared[company_id] = _company_prepare(missing[company_id], compiled)
    return prepared


def _user(user_id: int, tokens: dict[str, str]) -> PreparedUser | None:
    key = f"doc:user:{user_id}:{tokens[user_version_name(user_id)]}:{tokens[CATALOG]}"
    prepared: PreparedUser | None = _memo.get(key)
    if prepared is not None:
        return prepared
    document = cache.get(key)
    if document is None:
        document = user_document_compile(user_id=user_id)
        if document is None:
            return None
        cache.set(key, document, timeout=_DOCUMENT_TTL_SECONDS)
    prepared = PreparedUser(engine.prepare_user(document), document)
    _memo.put(key, prepared)
    return prepared


@dataclass(frozen=True, slots=True)
class Documents:
    """What one check evaluates against."""

    flags: FlagSet
    company: PreparedCompany | None
    user: PreparedUser | None


def document_version_names(*, company_id: int | None, user_id: int | None) -> list[str]:
    """The version tokens that documents of this company and user depend on."""
    names = [CATALOG]
    if company_id is not None:
        names.append(company_version_name(company_id))
    if user_id is not None:
        names.append(user_version_name(user_id))
    return names


def documents_get(*, company_id: int | None, user_id: int | None, now: dt.datetime) -> Documents:
    """The current flags and the company's and user's documents (one cache round trip when warm)."""
    tokens = versions_get(document_version_names(company_id=company_id, user_id=user_id))
    return documents_for_tokens(company_id=company_id, user_id=user_id, tokens=tokens, now=now)


def company_documents_get_many(*, company_ids: Sequence[int], now: dt.datetime) -> dict[int, Documents]:
    """The current flags and each company's document (no user), for lists of companies: one cache round trip for
    every version token, one for the documents not kept in this process, and one round of reads compiling those not
    cached — the same documents ``documents_get`` answers, whatever the number of companies."""
    names = [CATALOG, *(company_version_name(company_id) for company_id in company_ids)]
    tokens = versions_get(names)
    flags = _flags(tokens[CATALOG])
    prepared = _companies(company_ids, tokens, now)
    return {
        company_id: Documents(flags=flags, company=prepared.get(company_id), user=None) for company_id in company_ids
    }


def documents_for_tokens(
    *, company_id: int | None, user_id: int | None, tokens: dict[str, str], now: dt.datetime
) -> Documents:
    """The documents of the given version tokens (which must include ``document_version_names``)."""
    return Documents(
        flags=_flags(tokens[CATALOG]),
        company=_company(company_id, tokens, now) if company_id is not None else None,
        user=_user(user_id, tokens) if user_id is not None else None,
    )


def flags_get() -> FlagSet:
    """The current flags."""
    return _flags(versions_get([CATALOG])[CATALOG])


# --- Lookups by key ------------------------------------------------------------------------------------------------


def _pair_key(kind: str, name: str, value: str) -> str:
    digest = hashlib.sha1(f"{name.lower()}\x00{value.lower()}".encode(), usedforsecurity=False).hexdigest()
    return f"{kind}:{digest}"


def _ids_for_keys(kind: str, keys: dict[str, str], lookup: Any) -> list[int | None]:
    """The owner id of each key pair, in the order given, ``None`` where it names nobody (cached; ``0`` stored)."""
    cache_keys = [_pair_key(kind, name, value) for name, value in keys.items()]
    found = cache.get_many(cache_keys)
    missing = [(name, value) for (name, value), ck in zip(keys.items(), cache_keys, strict=True) if ck not in found]
    if missing:
        resolved = lookup(missing)
        fresh = {
            _pair_key(kind, name, value): resolved.get((name.lower(), value.lower()), 0) for name, value in missing
        }
        cache.set_many(fresh, timeout=_KEY_TTL_SECONDS)
        found.update(fresh)
    return [found[ck] or None for ck in cache_keys]


def company_ids_by_pair(keys: dict[str, str]) -> list[int | None]:
    """The company each key pair names (``None``: nobody), in the order given, compared ignoring case.

    No database query when the pairs were looked up before and no key changed since.
    """
    return _ids_for_keys("ckey", keys, company_ids_for_keys)


def company_id_by_public_id(keys: dict[str, str]) -> int | None:
    """The company whose public id is one of the values: the SDKs' fallback when no key matches (PROTOCOL.md §2.2)."""
    for value in keys.values():
        if value.startswith("comp_"):
            found = _ids_for_keys("cid", {"id": value}, _company_ids_for_public_ids)[0]
            if found is not None:
                return found
    return None


def company_id_for_keys(keys: dict[str, str]) -> int | None:
    """The company named by any of the given key pairs (the first that names one), else by a ``comp_…`` value."""
    named = [company_id for company_id in company_ids_by_pair(keys) if company_id is not None]
    return named[0] if named else company_id_by_public_id(keys)


def _company_ids_for_public_ids(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    rows = Company.objects.filter(public_id__in=[value for _, value in pairs]).values_list("public_id", "pk")
    return {("id", public_id.lower()): pk for public_id, pk in rows}


def user_ids_by_pair(keys: dict[str, str]) -> list[int | None]:
    """The user each key pair names (``None``: nobody), in the order given, compared ignoring case."""
    return _ids_for_keys("ukey", keys, user_ids_for_keys)


def user_id_for_keys(keys: dict[str, str]) -> int | None:
    """The user named by any of the given key pairs (the first that names one), compared ignoring case."""
    named = [user_id for user_id in user_ids_by_pair(keys) if user_id is not None]
    return named[0] if named else None


KEYS_EPOCH = "keys"
"""A token bumped whenever any company or user key is added, changed or removed (see
``entitlements.documents.resolution``)."""


def key_lookups_forget_on_commit(
    *, company_pairs: Iterable[tuple[str, str]] = (), user_pairs: Iterable[tuple[str, str]] = ()
) -> None:
    """After commit, forget the cached lookups of these key pairs (added, changed or removed keys)."""
    doomed = [_pair_key("ckey", n, v) for n, v in company_pairs] + [_pair_key("ukey", n, v) for n, v in user_pairs]
    if doomed:
        cache.delete_many(doomed)  # now, for this connection; and after commit, for readers that cached them in between
        transaction.on_commit(lambda: cache.delete_many(doomed))
        versions_bump_on_commit([KEYS_EPOCH])

"""Version tokens of cached documents, shared by every process through the Django cache (Redis in production).

A write bumps the tokens of what it changed *after commit* (domain writes through their events:
``entitlements.documents.staleness``); a reader looks up the current tokens and uses cached data
stored under them, compiling afresh when there is none. Tokens are random, not counters, so a token lost from the
cache (eviction, restart) can never come back to an old value and resurrect stale data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.core.cache import cache

from core.transactions import OnCommitBatch

_PREFIX = "ver:"
# The token of everything the catalog defines (features, plans, entitlements, trait definitions): documents of
# every company embed it, so a catalog change reaches every company.
CATALOG_VERSION = "catalog"
# Tokens live as long as the data they guard; a missing token is simply re-issued, which forces a recompile.
_TOKEN_TTL_SECONDS = 7 * 24 * 3600


def _new_token() -> str:
    return secrets.token_hex(8)


def versions_get(names: list[str]) -> dict[str, str]:
    """The current token of each name, issuing one (atomically, first writer wins) where none exists."""
    keys = [_PREFIX + name for name in names]
    found = cache.get_many(keys)
    result: dict[str, str] = {}
    for name, key in zip(names, keys, strict=True):
        token = found.get(key)
        if token is None:
            cache.add(key, _new_token(), timeout=_TOKEN_TTL_SECONDS)
            token = cache.get(key) or _new_token()
        result[name] = token
    return result


def versions_bump_now(names: Iterable[str]) -> None:
    """Give each name a new token at once. Prefer ``versions_bump_on_commit`` inside a transaction."""
    tokens = {_PREFIX + name: _new_token() for name in set(names)}
    if tokens:
        cache.set_many(tokens, timeout=_TOKEN_TTL_SECONDS)


def versions_bump_on_commit(names: Iterable[str]) -> None:
    """Bump the tokens now and again when the current transaction commits ("double delete").

    The bump after commit is the one that matters: a reader that compiled from the database while the transaction was
    open stored its result under the token of that moment, which the second bump retires. The bump now makes the
    writer's own connection (and tests, whose transaction never commits) read fresh documents at once.

    The bumps after commit are made once per transaction, for every name it bumped.
    """
    pending = sorted(set(names))
    if pending:
        versions_bump_now(pending)
        _after_commit.add(pending)


def _bump_committed(names: list[str]) -> None:
    versions_bump_now(sorted(set(names)))


_after_commit: OnCommitBatch[str] = OnCommitBatch(_bump_committed)

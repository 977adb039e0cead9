"""Issuing and revoking API keys. Secrets are random, shown once, and stored only as a SHA-256 digest.

Issuing and revoking each record an audit entry (never the secret or its digest); recording a key's use does not.
Keys are never deleted and carry nothing else that could change (no environment): revocation is the only way a key
stops working, and it emits ``ApiKeyRevoked``, on which the datastream closes the key's open connections.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User as StaffUser
from django.core.cache import cache
from django.db import transaction

from core.actors import Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.events import event_emit
from core.versions import versions_bump_on_commit
from entitlements.events import ApiKeyRevoked
from entitlements.models import ApiKey
from entitlements.selectors import API_KEYS_EPOCH, api_key_identity_cache_key, api_key_secret_hash

logger = logging.getLogger(__name__)

SECRET_PREFIX = "sk_"
VISIBLE_PREFIX_LENGTH = 10  # "sk_" plus 7 random characters: enough to tell keys apart in the admin


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A newly created key and its secret; the secret exists nowhere else and must be shown now."""

    api_key: ApiKey
    secret: str


def api_key_create(*, actor: Actor, name: str, created_by: StaffUser | None = None, note: str = "") -> IssuedApiKey:
    """Create a key named ``name`` and return it with its one-time secret."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("An API key needs a name.", field="name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name.strip(),
            prefix=secret[:VISIBLE_PREFIX_LENGTH],
            secret_hash=api_key_secret_hash(secret),
            created_by=created_by,
        )
        audit_record(
            actor=actor,
            action="api_key.created",
            target=api_key,
            after={
                "name": api_key.name,
                "prefix": api_key.prefix,
                "created_by": created_by.get_username() if created_by is not None else None,
            },
            note=note,
        )
    logger.info("api key created", extra={"actor": str(actor), "api_key": api_key.public_id})
    return IssuedApiKey(api_key=api_key, secret=secret)


def api_key_revoke(*, actor: Actor, api_key: ApiKey, now: dt.datetime, note: str = "") -> ApiKey:
    """Stop a key from authenticating, from now on: its cached identity is forgotten after commit and ``ApiKeyRevoked``
    is emitted, so its open datastream connections close. Revoking twice keeps the first time (and records and
    emits nothing)."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        api_key.refresh_from_db()
        if revoked:
            audit_record(
                actor=actor,
                action="api_key.revoked",
                target=api_key,
                before={"revoked_at": None},
                after={"revoked_at": api_key.revoked_at},
                note=note,
            )
        # Forgotten before the event is emitted, so the cache is cleared by the time the datastream's subscriber
        # closes the key's connections (commit hooks run in the order they were registered).
        api_key_identity_forget_on_commit(api_key.secret_hash)
        if revoked:
            event_emit(ApiKeyRevoked(api_key_id=api_key.pk, public_id=api_key.public_id))
    logger.info("api key revoked", extra={"actor": str(actor), "api_key": api_key.public_id})
    return api_key


def api_key_identity_forget_on_commit(secret_hash: str) -> None:
    """After commit, make every process look the key up again (it was revoked)."""
    key = api_key_identity_cache_key(secret_hash)
    cache.delete(key)  # now, for this connection; and after commit, for readers that cached it in between
    transaction.on_commit(lambda: cache.delete(key))
    versions_bump_on_commit([API_KEYS_EPOCH])


# A key's last use is recorded at most this often, so that authentication does not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_last_touched: dict[tuple[int, str], dt.datetime] = {}


def api_key_touch(*, api_key_id: int, public_id: str, now: dt.datetime) -> None:
    """Record that the key was used, unless this process recorded it within the last minute."""
    previous = _last_touched.get((api_key_id, public_id))
    if previous is not None and now - previous < LAST_USED_RESOLUTION:
        return
    _last_touched[(api_key_id, public_id)] = now
    ApiKey.objects.filter(pk=api_key_id).update(last_used_at=now)

"""Parsing the events of a capture batch (PROTOCOL.md §2.6), one at a time, into typed values or a rejection.

Pure: no database. Each event stands alone: a bad one is rejected with a reason, the others go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from entitlements.services.capture import FlagCheckEvent, IdentifyEvent, ParsedEvent, TrackEvent

MAX_BATCH_SIZE = 100
MAX_EVENT_NAME = 200
MAX_IDEMPOTENCY_KEY = 255
# A trusted client clock is believed only within this range of the server's clock.
CLIENT_CLOCK_AHEAD = dt.timedelta(minutes=5)
CLIENT_CLOCK_BEHIND = dt.timedelta(days=34)


class EventRejected(ValueError):
    """The event cannot be accepted; the message says which field and why."""


def _key_map(value: Any, field: str, *, required: bool = False) -> dict[str, str]:
    if value is None:
        if required:
            raise EventRejected(f"{field}: keys are required")
        return {}
    if not isinstance(value, Mapping):
        raise EventRejected(f"{field}: must be an object of strings")
    keys: dict[str, str] = {}
    for name, key_value in value.items():
        if not isinstance(name, str) or not name.strip():
            raise EventRejected(f"{field}: key names must be non-empty strings")
        if not isinstance(key_value, str):
            raise EventRejected(f"{field}.{name}: key values must be strings, not {type(key_value).__name__}")
        if not key_value.strip() or len(key_value) > 255 or "\x00" in key_value or "\x00" in name:
            raise EventRejected(f"{field}.{name}: key values must be non-empty text of at most 255 characters")
        keys[name.strip()] = key_value.strip()
    if required and not keys:
        raise EventRejected(f"{field}: at least one key is required")
    return keys


def _traits(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventRejected(f"{field}: must be an object")
    return dict(value)


def _name(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventRejected(f"{field}: must be a string")
    return value.strip()[:255] or None


def _occurred_at(event: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    """The server's time, unless the client's clock is trusted and plausibly close to it."""
    if event.get("trusted_client_clock") is not True or event.get("sent_at") is None:
        return now
    sent_at = event["sent_at"]
    if not isinstance(sent_at, str):
        raise EventRejected("sent_at: must be an RFC 3339 string")
    try:
        parsed = dt.datetime.fromisoformat(sent_at.strip().upper().replace("Z", "+00:00"))
    except ValueError as error:
        raise EventRejected("sent_at: must be an RFC 3339 time such as 2025-01-02T03:04:05Z") from error
    if parsed.tzinfo is None:
        raise EventRejected("sent_at: needs a time zone offset")
    if not now - CLIENT_CLOCK_BEHIND <= parsed <= now + CLIENT_CLOCK_AHEAD:
        raise EventRejected("sent_at: a trusted client clock must be within 5 minutes ahead and 34 days back")
    return parsed.astimezone(dt.UTC)


def _quantity(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventRejected("body.quantity: must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise EventRejected("body.quantity: must be a whole number")
    quantity = int(value)
    if abs(quantity) > 10**12:
        raise EventRejected("body.quantity: out of range")
    return quantity


def _idempotency_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_IDEMPOTENCY_KEY or "\x00" in value:
        raise EventRejected(f"idempotency_key: must be a non-empty string of at most {MAX_IDEMPOTENCY_KEY} characters")
    return value


def event_parse(event: Any, *, now: dt.datetime) -> ParsedEvent:
    """One wire event as a typed value; ``EventRejected`` naming the field otherwise. Unset and ``null`` are alike."""
    if not isinstance(event, Mapping):
        raise EventRejected("event: must be an object")
    event_type, body = event.get("type"), event.get("body")
    if not isinstance(body, Mapping):
        raise EventRejected("body: must be an object")
    if event_type == "track":
        name = body.get("event")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_EVENT_NAME or "\x00" in name:
            raise EventRejected(f"body.event: must be a non-empty string of at most {MAX_EVENT_NAME} characters")
        traits = body.get("traits")
        return TrackEvent(
            event_name=name.strip(),
            company_keys=_key_map(body.get("company"), "body.company", required=True),
            user_keys=_key_map(body.get("user"), "body.user"),
            quantity=_quantity(body.get("quantity")),
            traits=_traits(traits, "body.traits") if traits is not None else None,
            occurred_at=_occurred_at(event, now),
            idempotency_key=_idempotency_key(event.get("idempotency_key")),
        )
    if event_type == "identify":
        company = body.get("company")
        if company is not None and not isinstance(company, Mapping):
            raise EventRejected("body.company: must be an object")
        company = company or {}
        parsed = IdentifyEvent(
            user_keys=_key_map(body.get("keys"), "body.keys"),
            user_name=_name(body.get("name"), "body.name"),
            user_traits=_traits(body.get("traits"), "body.traits"),
            company_keys=_key_map(company.get("keys"), "body.company.keys"),
            company_name=_name(company.get("name"), "body.company.name"),
            company_traits=_traits(company.get("traits"), "body.company.traits"),
        )
        if not parsed.user_keys and not parsed.company_keys:
            raise EventRejected("body: identify needs user keys or company keys")
        return parsed
    if event_type == "flag_check":
        flag_key, value = body.get("flag_key"), body.get("value")
        if not isinstance(flag_key, str) or not flag_key or len(flag_key) > 100:
            raise EventRejected("body.flag_key: must be a non-empty string")
        if not isinstance(value, bool):
            raise EventRejected("body.value: must be a boolean")
        reason, company_id = body.get("reason"), body.get("company_id")
        return FlagCheckEvent(
            flag_key=flag_key,
            value=value,
            reason=reason[:500] if isinstance(reason, str) else "",
            company_id=company_id[:40] if isinstance(company_id, str) else "",
            occurred_at=_occurred_at(event, now),
        )
    raise EventRejected(f"type: unsupported event type {event_type!r} (identify, track and flag_check are accepted)")

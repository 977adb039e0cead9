"""The domain events of companies, users, subscriptions, overrides, trials, usage and API keys (see ``core.events``
for the delivery promise). Emitted by ``entitlements.services`` only; ids are internal primary keys.

``CompanyEvent.aspects()`` says which parts of a company's documents changed; the subscribers that keep documents
and connected SDKs fresh (``entitlements.documents.staleness``, ``entitlements.datastream.broadcast``) read only
that, so a new event type needs no change there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.events import CompanyEvent, DomainEvent

__all__ = [
    "ApiKeyRevoked",
    "CompanyChanged",
    "CompanyCreated",
    "CompanyDeleted",
    "CompanyEvent",
    "DomainEvent",
    "OverrideEvent",
    "OverrideExpired",
    "OverrideGranted",
    "OverrideRevoked",
    "OverrideUpdated",
    "SubscriptionChanged",
    "TrialEndMoved",
    "TrialEnded",
    "TrialStarted",
    "UsageRecorded",
    "UserChanged",
    "UserDeleted",
]

DOCUMENT_ASPECTS = frozenset({"traits", "keys", "profile", "plan", "overrides", "usage", "credits"})
"""The aspects of a company that its documents carry; a change to any other (``payment_method``) leaves them valid."""

USAGE_ASPECTS = frozenset({"usage", "credits"})
"""The aspects a usage push carries (metrics and credit balances); any other needs the whole document."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyCreated(CompanyEvent):
    """A company was created (its keys, traits and first subscription follow as their own events)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"profile"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyChanged(CompanyEvent):
    """The company's ``what`` changed: ``traits``, ``keys``, ``profile`` (its name) or ``payment_method``.
    ``keys_removed``: a key no longer names the company (SDKs must drop it and ask again)."""

    what: frozenset[str]
    keys_removed: bool = False

    def aspects(self) -> frozenset[str]:
        return self.what


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyDeleted(CompanyEvent):
    """The company is being deleted (emitted before its rows go, so at-emit subscribers can still read them)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"profile"})
    public_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionChanged(CompanyEvent):
    """The company's live subscription changed. ``before``/``after`` are the audited views (plan key, add-on keys,
    status, trial end, period; ``None``: no live subscription); ``after`` may name the fallback plan it moved to."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"plan"})
    before: dict[str, Any] | None = field(hash=False, compare=True)
    after: dict[str, Any] | None = field(hash=False, compare=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideEvent(CompanyEvent):
    """Something happened to one override (subscribe to this to hear of all four)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"overrides"})
    override_id: int
    feature_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideGranted(OverrideEvent):
    """An override was granted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideUpdated(OverrideEvent):
    """An active override's value, expiry or note changed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideRevoked(OverrideEvent):
    """An override was ended by hand."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideExpired(OverrideEvent):
    """The expiry job marked an override expired (checks stopped applying it at its expiry instant already)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialStarted(CompanyEvent):
    """A trial of ``plan_key`` started, ending at ``ends_at`` (ISO 8601)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"plan"})
    plan_key: str
    ends_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialEndMoved(CompanyEvent):
    """A running trial was extended or shortened to end at ``ends_at`` (ISO 8601)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"plan"})
    ends_at: str
    extended: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialEnded(CompanyEvent):
    """A trial ended: ``converted`` (a payment method was on file, now paid) or ``moved_to_fallback``."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"plan"})
    outcome: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecorded(CompanyEvent):
    """Capture stored ``events`` new track events for the company (repeats of an idempotency key not counted),
    of these event names."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"usage"})
    events: int
    event_names: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserChanged(DomainEvent):
    """A user was created or its name, keys, traits or companies changed; ``keys_removed`` as for companies."""

    user_id: int
    keys_removed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeleted(DomainEvent):
    """The user is being deleted (emitted before its rows go)."""

    user_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRevoked(DomainEvent):
    """The API key stopped authenticating (emitted once, by the revocation that took effect). Subscribers end what the
    key still holds open: ``entitlements.datastream.broadcast`` closes its datastream connections in every process."""

    api_key_id: int
    public_id: str

"""The domain events of credits (see ``core.events`` for the delivery promise). Emitted by ``credits.services`` and
``credits.jobs`` only. Amounts are ``Decimal`` credits of one credit type (by internal id); every event changed the
company's balance, which its documents carry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from core.events import CompanyEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditEvent(CompanyEvent):
    """The company's balance of one credit type changed (subscribe to this to hear of every kind)."""

    ASPECTS: ClassVar[frozenset[str]] = frozenset({"credits"})
    credit_type_id: int
    quantity: Decimal
    balance_after: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditsGranted(CreditEvent):
    """Credits were granted: ``reason`` is the grant's (plan, purchase, promotional, manual, refund, rollover)."""

    grant_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditsBurned(CreditEvent):
    """Usage burned ``quantity`` credits in one call (one event per account and call, however many usage events);
    ``unfunded`` is what neither the grants nor the overdraft could cover."""

    unfunded: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditsAdjusted(CreditEvent):
    """Credits were taken back by hand (``quantity`` is positive: the amount taken)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditsExpired(CreditEvent):
    """A grant expired and its ``quantity`` remaining credits were written off."""

    grant_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditsExpiryMoved(CreditEvent):
    """A grant's expiry moved to ``expires_at`` (ISO 8601), e.g. plan credits of a trial that was extended;
    ``quantity`` is what the grant still holds."""

    grant_id: int
    expires_at: str

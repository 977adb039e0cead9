"""Periodic jobs of the credits app: write off expired grants, carrying over the share a plan grant rolls over.

Balances stop counting an expired grant at its expiry instant whether or not this has run (selectors and burns read
``expires_at``); the job makes the ledger say so. Each grant is handled once: the company's account is locked first,
the grant re-read under lock, and ``expired_at`` marks it done — a second or concurrent run finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction

from catalog.models import CreditType
from core.actors import Actor
from core.audit import audit_record
from core.events import event_emit
from credits.events import CreditsExpired
from credits.models import CreditGrant, GrantReason, LedgerKind
from credits.services import _account_locked, _entry, credit_grant

logger = logging.getLogger(__name__)

_MICRO = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class ExpiryOutcome:
    expired: int
    rolled_over: int


def credit_grants_expire_due(*, actor: Actor, now: dt.datetime) -> ExpiryOutcome:
    """Write off every grant whose expiry has passed; a plan grant's rollover share becomes a new grant."""
    expired = rolled_over = 0
    due = (
        CreditGrant.objects.filter(expires_at__lte=now, expired_at__isnull=True)
        .order_by("company_id", "credit_type_id", "pk")
        .values_list("pk", "company_id", "credit_type_id")
    )
    credit_types: dict[int, CreditType] = {}
    for pk, company_id, credit_type_id in due:
        credit_type = credit_types.get(credit_type_id) or CreditType.objects.get(pk=credit_type_id)
        credit_types[credit_type_id] = credit_type
        with transaction.atomic():
            account = _account_locked(company_id, credit_type)  # lock order: account, then its grants
            grant = CreditGrant.objects.select_for_update().filter(pk=pk, expired_at__isnull=True).first()
            if grant is None:  # another run got here first
                continue
            written_off = grant.remaining
            grant.remaining, grant.expired_at = Decimal(0), now
            grant.save(update_fields=["remaining", "expired_at"])
            expired += 1
            if written_off > 0:
                account.balance -= written_off
                account.save(update_fields=["balance", "updated_at"])
                _entry(
                    account,
                    kind=LedgerKind.EXPIRY,
                    quantity=-written_off,
                    actor=actor,
                    grant=grant,
                    note="Expired at its end date.",
                )
                audit_record(
                    actor=actor,
                    action="credit.expired",
                    target=grant,
                    company_id=grant.company.public_id,
                    before={"remaining": str(written_off)},
                    after={"remaining": "0"},
                )
                event_emit(
                    CreditsExpired(
                        company_id=company_id,
                        credit_type_id=credit_type.pk,
                        quantity=written_off,
                        balance_after=account.balance,
                        grant_id=grant.pk,
                    )
                )
            carried = (written_off * grant.rollover_percent / 100).quantize(_MICRO, rounding=ROUND_DOWN)
            if carried > 0 and grant.expires_at is not None:
                credit_grant(
                    actor=actor,
                    company_id=company_id,
                    credit_type=credit_type,
                    quantity=carried,
                    reason=GrantReason.ROLLOVER,
                    now=now,
                    valid_from=grant.expires_at,
                    expires_at=grant.expires_at + (grant.rollover_lasts or dt.timedelta(days=30)),
                    source=grant.public_id,
                    ledger_kind=LedgerKind.ROLLOVER,
                    note=f"{grant.rollover_percent}% of {written_off} carried over.",
                )
                rolled_over += 1
    if expired:
        logger.info("credit grants expired", extra={"actor": str(actor), "expired": expired, "rolled": rolled_over})
    return ExpiryOutcome(expired=expired, rolled_over=rolled_over)

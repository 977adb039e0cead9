"""Every write to a company's credits: grant and burn, each in the caller's transaction or its own.

Concurrency: a writer first locks the company's ``CreditAccount`` row for the credit type (``SELECT … FOR UPDATE``),
then the grants it touches, always in that order — so concurrent burns queue on the account and can neither overdraw
nor lose an update. Every change appends ledger entries carrying the balance after it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, Q, When

from catalog.credit_models import BurnOrder, CreditType
from core.actors import Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.versions import versions_bump_on_commit
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry, GrantReason, LedgerKind

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
_GRANT_ACTIONS: dict[str, str] = {LedgerKind.REFUND: "credit.refunded", LedgerKind.ROLLOVER: "credit.rolled_over"}


def company_credits_changed_on_commit(company_id: int) -> None:
    """Company documents carry credit balances: make them stale after commit (the token the compiler reads)."""
    versions_bump_on_commit([f"company:{company_id}"])


def _account_locked(company_id: int, credit_type: CreditType) -> CreditAccount:
    """The account row, created if missing, locked for the rest of the transaction."""
    account = CreditAccount.objects.select_for_update().filter(company_id=company_id, credit_type=credit_type).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():  # a savepoint: a concurrent creator wins, and we lock theirs
            CreditAccount.objects.create(company_id=company_id, credit_type=credit_type)
    except IntegrityError:
        pass
    return CreditAccount.objects.select_for_update().get(company_id=company_id, credit_type=credit_type)


def _entry(
    account: CreditAccount, *, kind: str, quantity: Decimal, actor: Actor, grant: CreditGrant | None = None,
    unfunded: Decimal = ZERO, usage_event_id: int | None = None, note: str = "",
) -> CreditLedgerEntry:  # fmt: skip
    return CreditLedgerEntry.objects.create(
        company_id=account.company_id,
        credit_type_id=account.credit_type_id,
        grant=grant,
        kind=kind,
        quantity=quantity,
        unfunded=unfunded,
        balance_after=account.balance,
        usage_event_id=usage_event_id,
        actor_kind=actor.kind.value,
        actor_label=actor.label[:255],
        note=note,
    )


def credit_grant(
    *,
    actor: Actor,
    company_id: int,
    credit_type: CreditType,
    quantity: Decimal,
    reason: str,
    now: dt.datetime,
    valid_from: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    source: str = "",
    period_start: dt.datetime | None = None,
    rollover_percent: int = 0,
    rollover_lasts: dt.timedelta | None = None,
    ledger_kind: str | None = None,
    note: str = "",
) -> CreditGrant:
    """Give a company credits. Settles any overdraft first (the debt is paid from the new grant, on the ledger).

    ``expires_at`` defaults to the credit type's default expiry. ``ValidationFailed`` for a quantity that is not
    positive, an unknown reason, or an expiry not after the start of validity.
    """
    valid_from = valid_from or now
    if expires_at is None and credit_type.default_expiry_days:
        expires_at = valid_from + dt.timedelta(days=credit_type.default_expiry_days)
    errors: dict[str, list[str]] = {}
    if quantity <= 0:
        errors["quantity"] = ["Grant a positive number of credits."]
    if reason not in GrantReason.values:
        errors["reason"] = [f"One of {', '.join(GrantReason.values)}."]
    if expires_at is not None and expires_at <= valid_from:
        errors["expires_at"] = ["The expiry must come after the start of validity."]
    elif expires_at is not None and expires_at <= now and reason != GrantReason.ROLLOVER:
        errors["expires_at"] = ["The expiry must be in the future."]
    if errors:
        raise ValidationFailed("Invalid credit grant: " + ", ".join(sorted(errors)), fields=errors)
    with transaction.atomic():
        account = _account_locked(company_id, credit_type)
        settles = min(account.overdraft_used, quantity)
        grant = CreditGrant.objects.create(
            company_id=company_id,
            credit_type=credit_type,
            quantity=quantity,
            remaining=quantity - settles,
            reason=reason,
            valid_from=valid_from,
            expires_at=expires_at,
            source=source,
            period_start=period_start,
            rollover_percent=rollover_percent,
            rollover_lasts=rollover_lasts,
        )
        account.balance += quantity
        account.overdraft_used -= settles
        account.granted_total += quantity
        account.save(update_fields=["balance", "overdraft_used", "granted_total", "updated_at"])
        kind = ledger_kind or (LedgerKind.REFUND if reason == GrantReason.REFUND else LedgerKind.GRANT)
        _entry(account, kind=kind, quantity=quantity, actor=actor, grant=grant, note=note)
        audit_record(
            actor=actor,
            action=_GRANT_ACTIONS.get(kind, "credit.granted"),
            target=grant,
            company_id=grant.company.public_id,
            after={
                "credit_type": credit_type.key,
                "quantity": str(quantity),
                "reason": reason,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "settled_overdraft": str(settles),
            },
            note=note,
        )
        company_credits_changed_on_commit(company_id)
    return grant


@dataclass(frozen=True, slots=True)
class BurnOutcome:
    """What a burn took: from grants (``funded``), from the overdraft, and what nothing could fund."""

    funded: Decimal
    overdrawn: Decimal
    unfunded: Decimal
    balance_after: Decimal


def _burn_order(credit_type: CreditType) -> list[str]:
    if credit_type.burn_order == BurnOrder.FIFO:
        return ["valid_from", "pk"]
    if credit_type.burn_order == BurnOrder.PLAN_FIRST:
        return ["plan_last", "expires_at_missing", "expires_at", "valid_from", "pk"]
    return ["expires_at_missing", "expires_at", "valid_from", "pk"]


def credit_burn(
    *,
    actor: Actor,
    company_id: int,
    credit_type: CreditType,
    quantity: Decimal,
    now: dt.datetime,
    usage_event_id: int | None = None,
    note: str = "",
) -> BurnOutcome:
    """Burn ``quantity`` credits across the company's usable grants in the type's burn order, then the overdraft.

    Never takes the balance below zero, or below minus the overdraft limit when the type allows one; what cannot be
    funded is recorded on the ledger as ``unfunded`` (the usage itself is not refused here). Call inside the
    transaction that records the usage, so both commit or neither does.
    """
    return credit_burn_many(
        actor=actor, company_id=company_id, credit_type=credit_type, burns=[(usage_event_id, quantity)], now=now,
        note=note,
    )[0]  # fmt: skip


def credit_burn_many(
    *,
    actor: Actor,
    company_id: int,
    credit_type: CreditType,
    burns: list[tuple[int | None, Decimal]],
    now: dt.datetime,
    note: str = "",
) -> list[BurnOutcome]:
    """Burn several amounts in order — one per usage event ``(event id, credits)`` — under one lock of the account.

    The same rules as ``credit_burn`` apply to each amount in turn; each writes its own ledger entries, linked to its
    usage event. Returns one outcome per amount. Amounts not above zero burn nothing.
    """
    outcomes: list[BurnOutcome] = []
    with transaction.atomic():
        account = _account_locked(company_id, credit_type)
        usable = list(
            CreditGrant.objects.select_for_update()
            .filter(company_id=company_id, credit_type=credit_type, remaining__gt=0, valid_from__lte=now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .annotate(
                expires_at_missing=Case(When(expires_at__isnull=True, then=1), default=0),
                plan_last=Case(When(reason=GrantReason.PLAN, then=0), default=1),
            )
            .order_by(*_burn_order(credit_type))
        )
        touched_grants: dict[int, CreditGrant] = {}
        entries: list[CreditLedgerEntry] = []
        limit = credit_type.overdraft_limit or ZERO
        for usage_event_id, quantity in burns:
            if quantity <= 0:
                outcomes.append(BurnOutcome(ZERO, ZERO, ZERO, account.balance))
                continue
            need, funded = quantity, ZERO
            takes: list[tuple[CreditGrant | None, Decimal]] = []
            for grant in usable:
                if need <= 0:
                    break
                if grant.remaining <= 0:
                    continue
                take = min(grant.remaining, need)
                grant.remaining -= take
                touched_grants[grant.pk] = grant
                need -= take
                funded += take
                takes.append((grant, take))
            overdrawn = min(need, max(ZERO, limit - account.overdraft_used))
            if overdrawn > 0:
                account.overdraft_used += overdrawn
                takes.append((None, overdrawn))
            unfunded = need - overdrawn
            for index, (touched, taken) in enumerate(takes or [(None, ZERO)]):
                account.balance -= taken
                entries.append(
                    CreditLedgerEntry(
                        company_id=company_id,
                        credit_type=credit_type,
                        grant=touched,
                        kind=LedgerKind.BURN,
                        quantity=-taken,
                        unfunded=unfunded if index == len(takes or [None]) - 1 else ZERO,
                        balance_after=account.balance,
                        usage_event_id=usage_event_id,
                        actor_kind=actor.kind.value,
                        actor_label=actor.label[:255],
                        note=note,
                    )
                )
            outcomes.append(BurnOutcome(funded, overdrawn, unfunded, account.balance))
        if touched_grants:
            CreditGrant.objects.bulk_update(list(touched_grants.values()), ["remaining"])
        CreditLedgerEntry.objects.bulk_create(entries)
        account.save(update_fields=["balance", "overdraft_used", "updated_at"])
        company_credits_changed_on_commit(company_id)
    return outcomes

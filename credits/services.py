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

from catalog.models import BurnOrder, CreditType
from core.actors import SYSTEM_ACTOR, Actor
from core.audit import audit_record
from core.errors import ValidationFailed
from core.events import event_emit
from credits.events import CreditsAdjusted, CreditsBurned, CreditsExpiryMoved, CreditsGranted
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry, GrantReason, LedgerKind
from credits.selectors import credit_accounts_low, credit_accounts_with_balances, credit_low_balance_threshold

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
_GRANT_ACTIONS: dict[str, str] = {LedgerKind.REFUND: "credit.refunded", LedgerKind.ROLLOVER: "credit.rolled_over"}


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
        _low_balance_check_if_watched(account, credit_type, now=now)
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
        event_emit(
            CreditsGranted(
                company_id=company_id,
                credit_type_id=credit_type.pk,
                quantity=quantity,
                balance_after=account.balance,
                grant_id=grant.pk,
                reason=reason,
            )
        )
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


def _usable_grants_locked(company_id: int, credit_type: CreditType, *, now: dt.datetime) -> list[CreditGrant]:
    """The company's grants of the type that can be burned at ``now``, locked, in the type's burn order.

    Call with the account locked: the lock order (account, then grants in burn order) is what keeps concurrent burns,
    adjustments and expiries from deadlocking.
    """
    return list(
        CreditGrant.objects.select_for_update()
        .filter(company_id=company_id, credit_type=credit_type, remaining__gt=0, valid_from__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .annotate(
            expires_at_missing=Case(When(expires_at__isnull=True, then=1), default=0),
            plan_last=Case(When(reason=GrantReason.PLAN, then=0), default=1),
        )
        .order_by(*_burn_order(credit_type))
    )


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
        usable = _usable_grants_locked(company_id, credit_type, now=now)
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
        _low_balance_check_if_watched(account, credit_type, now=now)
        burned = sum((outcome.funded + outcome.overdrawn for outcome in outcomes), ZERO)
        if burned or any(outcome.unfunded for outcome in outcomes):
            event_emit(
                CreditsBurned(
                    company_id=company_id,
                    credit_type_id=credit_type.pk,
                    quantity=burned,
                    balance_after=account.balance,
                    unfunded=sum((outcome.unfunded for outcome in outcomes), ZERO),
                )
            )
    return outcomes


def credit_grants_expiry_move(
    *,
    actor: Actor,
    company_id: int,
    reason: str,
    period_start: dt.datetime,
    expires_at: dt.datetime,
    new_expires_at: dt.datetime,
    note: str = "",
) -> int:
    """Move the expiry of the company's unexpired grants of ``reason`` for the period starting ``period_start`` that
    expire at ``expires_at`` to ``new_expires_at`` — plan credits granted "until the end of the trial" when the trial
    is extended. No balance changes, so no ledger entry; one audit entry per grant. Returns how many moved.

    Lock order as every credit writer: the accounts of the types concerned first (in credit type order), then the
    grants.
    """
    matching = CreditGrant.objects.filter(
        company_id=company_id,
        reason=reason,
        period_start=period_start,
        expires_at=expires_at,
        expired_at__isnull=True,
    )
    with transaction.atomic():
        accounts = {
            credit_type.pk: _account_locked(company_id, credit_type)
            for credit_type in CreditType.objects.filter(pk__in=matching.values("credit_type")).order_by("pk")
        }
        grants = list(matching.select_for_update().select_related("credit_type", "company").order_by("pk"))
        for grant in grants:
            grant.expires_at = new_expires_at
            grant.save(update_fields=["expires_at"])
            audit_record(
                actor=actor,
                action="credit.expiry_moved",
                target=grant,
                company_id=grant.company.public_id,
                before={"expires_at": expires_at.isoformat()},
                after={"expires_at": new_expires_at.isoformat()},
                note=note,
            )
            event_emit(
                CreditsExpiryMoved(
                    company_id=company_id,
                    credit_type_id=grant.credit_type_id,
                    quantity=grant.remaining,
                    balance_after=accounts[grant.credit_type_id].balance,
                    grant_id=grant.pk,
                    expires_at=new_expires_at.isoformat(),
                )
            )
    return len(grants)


# --- Adjustments and alerts --------------------------------------------------------------------------------------
# Credits taken back by hand, and the low-balance alert.


def credit_adjust_down(
    *,
    actor: Actor,
    company_id: int,
    credit_type: CreditType,
    quantity: Decimal,
    now: dt.datetime,
    note: str,
) -> BurnOutcome:
    """Take ``quantity`` credits back from a company by hand (a correction, no usage event).

    Under the account lock, burns the usable grants in the type's burn order, then the overdraft down to its floor;
    writes ledger entries of kind ``adjustment``, one ``credit.adjusted`` audit entry, and checks the low-balance
    threshold. ``ValidationFailed`` on ``quantity`` when it is not positive or more than the balance allows, on
    ``note`` when it is empty; nothing is written then.
    """
    errors: dict[str, list[str]] = {}
    if quantity <= 0:
        errors["quantity"] = ["Take back a positive number of credits."]
    if not note.strip():
        errors["note"] = ["Say why the credits are taken back."]
    if errors:
        raise ValidationFailed("Invalid credit adjustment: " + ", ".join(sorted(errors)), fields=errors)
    with transaction.atomic():
        account = _account_locked(company_id, credit_type)
        usable = _usable_grants_locked(company_id, credit_type, now=now)
        overdraft_room = max(ZERO, (credit_type.overdraft_limit or ZERO) - account.overdraft_used)
        available = sum((grant.remaining for grant in usable), ZERO) + overdraft_room
        if quantity > available:
            floor = ZERO - (credit_type.overdraft_limit or ZERO)
            raise ValidationFailed(
                f"At most {available.normalize():f} credits can be taken back: the balance may not go below "
                f"{floor.normalize():f}.",
                field="quantity",
            )
        need, funded = quantity, ZERO
        for grant in usable:
            if need <= 0:
                break
            take = min(grant.remaining, need)
            grant.remaining -= take
            grant.save(update_fields=["remaining"])
            account.balance -= take
            need -= take
            funded += take
            _entry(account, kind=LedgerKind.ADJUSTMENT, quantity=-take, actor=actor, grant=grant, note=note)
        if need > 0:  # the rest fits the overdraft: checked above
            account.overdraft_used += need
            account.balance -= need
            _entry(account, kind=LedgerKind.ADJUSTMENT, quantity=-need, actor=actor, note=note)
        account.save(update_fields=["balance", "overdraft_used", "updated_at"])
        company = account.company
        audit_record(
            actor=actor,
            action="credit.adjusted",
            target=account,
            target_id=f"{company.public_id}/{credit_type.public_id}",
            target_label=f"{credit_type.name} of {company.name}",
            company_id=company.public_id,
            after={
                "credit_type": credit_type.key,
                "quantity": _credits_plain(-quantity),
                "from_overdraft": _credits_plain(need),
                "balance_after": _credits_plain(account.balance),
            },
            note=note,
        )
        _low_balance_check_locked(account, now=now, actor=actor)
        event_emit(
            CreditsAdjusted(
                company_id=company_id, credit_type_id=credit_type.pk, quantity=quantity, balance_after=account.balance
            )
        )
    return BurnOutcome(funded=funded, overdrawn=need, unfunded=ZERO, balance_after=account.balance)


def credit_low_balance_check(*, account_id: int, now: dt.datetime, actor: Actor = SYSTEM_ACTOR) -> bool:
    """Compare the account's effective balance at ``now`` with its credit type's low-balance threshold; call after
    anything that changes the balance. Returns whether this call recorded an alert.

    Falling below the threshold sets ``is_low`` and records one ``credit.low_balance`` audit entry (the alert: once
    per crossing — checks while still low record nothing); rising back to or above it clears ``is_low`` silently.
    """
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(pk=account_id)
        return _low_balance_check_locked(account, now=now, actor=actor)


def _credits_plain(amount: Decimal | None) -> str | None:
    """An amount for the audit log, the same whatever scale the database returned it in: ``19``, ``2.5``."""
    return None if amount is None else f"{(amount + 0).normalize():f}"


def _low_balance_check_locked(account: CreditAccount, *, now: dt.datetime, actor: Actor) -> bool:
    """``credit_low_balance_check`` on an account the caller holds locked."""
    is_below = credit_accounts_low(now=now).filter(pk=account.pk).exists()
    if is_below == account.is_low:
        return False
    account.is_low = is_below
    account.save(update_fields=["is_low", "updated_at"])
    if not is_below:
        return False
    row = credit_accounts_with_balances(now=now).filter(pk=account.pk).values("effective_balance", "usable_granted")
    balances = row.get()
    credit_type, company = account.credit_type, account.company
    threshold = credit_low_balance_threshold(credit_type=credit_type, usable_granted=balances["usable_granted"])
    audit_record(
        actor=actor,
        action="credit.low_balance",
        target=account,
        target_id=f"{company.public_id}/{credit_type.public_id}",
        target_label=f"{credit_type.name} of {company.name}",
        company_id=company.public_id,
        after={
            "credit_type": credit_type.key,
            "balance": _credits_plain(balances["effective_balance"]),
            "threshold": _credits_plain(threshold),
        },
    )
    logger.info(
        "credit balance low",
        extra={"company_id": account.company_id, "credit_type": credit_type.key, "actor": str(actor)},
    )
    return True


def _low_balance_check_if_watched(account: CreditAccount, credit_type: CreditType, *, now: dt.datetime) -> None:
    """After a balance change, on the locked account: the low-balance check, when the credit type sets a threshold."""
    if credit_type.low_balance_threshold is not None or credit_type.low_balance_percent is not None:
        _low_balance_check_locked(account, now=now, actor=SYSTEM_ACTOR)

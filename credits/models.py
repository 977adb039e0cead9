"""The credit ledger: grants of credits to companies, and an append-only entry for every change of every grant.

Credits are exact decimals with six places (consumption rates may be fractional: 2.5 credits a call).

Companies are referenced by foreign key *by name* (``"entitlements.Company"``): the credits app sits below the
entitlements app and never imports it. A company's balance of a credit type lives on its ``CreditAccount`` — the row
every writer locks first — and always equals the sum of that company's ledger entries for the type.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.public_ids import PublicIdField
from credits.amounts import credits_text


class GrantReason(models.TextChoices):
    PLAN = "plan", "Included in the plan"
    PURCHASE = "purchase", "Purchased"
    PROMOTIONAL = "promotional", "Promotional"
    MANUAL = "manual", "Manual adjustment"
    ROLLOVER = "rollover", "Rolled over"
    REFUND = "refund", "Refund"


class LedgerKind(models.TextChoices):
    GRANT = "grant", "Grant"
    BURN = "burn", "Burn"
    EXPIRY = "expiry", "Expiry"
    ROLLOVER = "rollover", "Rollover"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"


class CreditAccount(models.Model):
    """One company's holding of one credit type: the lock anchor of every write, and the running balance.

    ``balance`` = unexpired-or-not-yet-processed grant remainders − ``overdraft_used``; it may go below zero only down
    to the credit type's overdraft limit.
    """

    company = models.ForeignKey("entitlements.Company", on_delete=models.PROTECT, related_name="credit_accounts")
    credit_type = models.ForeignKey("catalog.CreditType", on_delete=models.PROTECT, related_name="accounts")
    balance = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    overdraft_used = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    granted_total = models.DecimalField(
        max_digits=20, decimal_places=6, default=0, help_text="All credits ever granted."
    )
    is_low = models.BooleanField(default=False, help_text="Below the low-balance threshold (alerted once).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "credit_type"], name="credit_account_unique"),
            models.CheckConstraint(condition=Q(overdraft_used__gte=0), name="credit_account_overdraft_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_type.name}: {credits_text(self.balance)}"


class CreditGrant(models.Model):
    """Credits given to a company: how many, how many remain, why, and for how long."""

    public_id = PublicIdField(prefix="cgr")
    company = models.ForeignKey("entitlements.Company", on_delete=models.PROTECT, related_name="credit_grants")
    credit_type = models.ForeignKey("catalog.CreditType", on_delete=models.PROTECT, related_name="grants")
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    remaining = models.DecimalField(max_digits=20, decimal_places=6)
    reason = models.CharField(max_length=16, choices=GrantReason.choices)
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True, help_text="When the expiry job wrote it off.")
    source = models.CharField(max_length=64, blank=True, help_text="Bundle, plan or grant it came from.")
    period_start = models.DateTimeField(null=True, blank=True, help_text="Plan grants: the period it belongs to.")
    rollover_percent = models.PositiveSmallIntegerField(
        default=0, help_text="At expiry, this share of the remainder is carried into a new grant (plan grants)."
    )
    rollover_lasts = models.DurationField(null=True, blank=True, help_text="How long carried-over credits last.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="credit_grant_quantity_positive"),
            models.CheckConstraint(condition=Q(rollover_percent__lte=100), name="credit_grant_rollover_percent_ok"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("quantity")), name="credit_grant_remaining_in_range"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("valid_from")),
                name="credit_grant_expires_after_valid_from",
            ),
            # A plan's credits are granted once per period, however often the job runs.
            models.UniqueConstraint(
                fields=["company", "credit_type", "source", "period_start"],
                condition=Q(reason="plan"),
                name="credit_grant_plan_once_per_period",
            ),
        ]
        indexes = [models.Index(fields=["company", "credit_type", "expires_at"], name="credit_grant_burnable")]

    def __str__(self) -> str:
        left = credits_text(self.remaining)
        return f"{credits_text(self.quantity)} {self.credit_type.name} ({self.get_reason_display()}), {left} left"


class CreditLedgerEntry(models.Model):
    """One change of one company's credits: signed quantity, the grant it touched, and the balance after. Append-only.

    A burn that the balance could not fully fund records the shortfall in ``unfunded`` (the usage still happened).
    """

    company = models.ForeignKey("entitlements.Company", on_delete=models.PROTECT, related_name="credit_ledger")
    credit_type = models.ForeignKey("catalog.CreditType", on_delete=models.PROTECT, related_name="ledger")
    grant = models.ForeignKey(CreditGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    unfunded = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    balance_after = models.DecimalField(max_digits=20, decimal_places=6)
    usage_event = models.ForeignKey(
        "entitlements.UsageEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_entries"
    )
    actor_kind = models.CharField(max_length=16)
    actor_label = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit ledger entries"
        constraints = [models.CheckConstraint(condition=Q(unfunded__gte=0), name="credit_ledger_unfunded_ok")]
        indexes = [models.Index(fields=["company", "credit_type", "-created_at"], name="credit_ledger_recent")]

    def __str__(self) -> str:
        sign = "+" if self.quantity > 0 else ""
        return f"{self.get_kind_display()} {sign}{credits_text(self.quantity)} → {credits_text(self.balance_after)}"

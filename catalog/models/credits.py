"""Credits in the catalog: the currencies a vendor sells (credit types), their packs, and what plans include."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from catalog.models.plans import Plan, PriceInterval, key_validator
from core.public_ids import PublicIdField


class BurnOrder(models.TextChoices):
    SOONEST_EXPIRING = "soonest_expiring", "Soonest-expiring first"
    FIFO = "fifo", "Oldest first"
    PLAN_FIRST = "plan_first", "Plan credits before purchased ones"


class CreditType(models.Model):
    """A currency of the vendor's own ("AI credits"), with its default expiry, burn order and overdraft."""

    public_id = PublicIdField(prefix="cred")
    key = models.CharField(max_length=100, validators=[key_validator])
    name = models.CharField(max_length=200)
    singular_name = models.CharField(max_length=50, default="credit")
    plural_name = models.CharField(max_length=50, default="credits")
    burn_order = models.CharField(max_length=20, choices=BurnOrder.choices, default=BurnOrder.SOONEST_EXPIRING)
    default_expiry_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: grants never expire.")
    overdraft_limit = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="How far below zero a balance may go. Empty: not at all.",
    )
    low_balance_threshold = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Alert when a balance falls below this many credits.",
    )
    low_balance_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="…or below this share of what was granted.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                Lower("key"),
                name="credit_type_key_unique_ci",
                violation_error_message="A credit type with this key exists.",
                violation_error_code="duplicate_key",
            ),
            models.CheckConstraint(
                condition=Q(overdraft_limit__isnull=True) | Q(overdraft_limit__gte=0), name="credit_type_overdraft_ok"
            ),
            models.CheckConstraint(
                condition=Q(low_balance_percent__isnull=True) | Q(low_balance_percent__lte=100),
                name="credit_type_low_balance_percent_ok",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class CreditPrice(models.Model):
    """What one credit of a type costs in a currency, in minor units (a Decimal: a credit may cost a fraction of a
    cent)."""

    credit_type = models.ForeignKey(CreditType, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, validators=[RegexValidator(r"^[a-z]{3}$", "A lower-case ISO code.")])
    unit_amount_minor = models.DecimalField(max_digits=20, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credit_type", "currency"], name="credit_price_unique_currency"),
            models.CheckConstraint(condition=Q(unit_amount_minor__gte=0), name="credit_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_type.key}: {self.unit_amount_minor} {self.currency}"


class CreditBundle(models.Model):
    """A pack of credits customers buy: so many credits of a type for a price, valid for so long."""

    public_id = PublicIdField(prefix="bndl")
    key = models.CharField(max_length=100, validators=[key_validator], unique=True)
    name = models.CharField(max_length=200)
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="bundles")
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    price_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, validators=[RegexValidator(r"^[a-z]{3}$", "A lower-case ISO code.")])
    expiry_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the credit type's default.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["credit_type__key", "quantity"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="credit_bundle_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.quantity} {self.credit_type.key})"


class PlanCreditGrant(models.Model):
    """Credits a plan includes each period; at period end the remainder expires or rolls over up to a share."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="credit_grants")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="plan_grants")
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    interval = models.CharField(max_length=8, choices=PriceInterval.choices, default=PriceInterval.MONTH)
    rollover_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Share of the unused remainder carried over."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "credit_type"], name="plan_credit_grant_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="plan_credit_grant_quantity_positive"),
            models.CheckConstraint(condition=Q(rollover_percent__lte=100), name="plan_credit_grant_rollover_ok"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.key}: {self.quantity} {self.credit_type.key}/{self.interval}"

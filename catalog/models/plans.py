"""Catalog tables. Invariants live in the database as constraints; services add the cross-row rules."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from core.public_ids import PublicIdField

# Flag keys go into SDK URL paths unencoded (PROTOCOL.md §2.1): keep them URL-safe. The SDKs cache flags by
# lower-cased key, so keys are unique ignoring case.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
key_validator: RegexValidator = RegexValidator(
    KEY_PATTERN,
    "Use letters, digits, '-' and '_', starting with a letter or digit.",
    code="invalid_key",
)


class FeatureType(models.TextChoices):
    BOOLEAN = "boolean", "Boolean (on/off)"
    EVENT = "event", "Event (metered by tracked events)"
    TRAIT = "trait", "Trait (metered by a company trait)"


class PlanType(models.TextChoices):
    BASE = "base", "Base plan"
    ADD_ON = "add_on", "Add-on"


class ValueType(models.TextChoices):
    BOOLEAN = "boolean", "Boolean"
    NUMERIC = "numeric", "Numeric limit"
    UNLIMITED = "unlimited", "Unlimited"
    TRAIT = "trait", "Limit read from a company trait"
    CREDIT = "credit", "Consumes credits"


class MetricPeriod(models.TextChoices):
    CURRENT_DAY = "current_day", "Per day"
    CURRENT_WEEK = "current_week", "Per week"
    CURRENT_MONTH = "current_month", "Per month"
    ALL_TIME = "all_time", "All time"


class MonthReset(models.TextChoices):
    FIRST_OF_MONTH = "first_of_month", "On the 1st of the month"
    BILLING_CYCLE = "billing_cycle", "On the billing-cycle day"


class PriceInterval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Feature(models.Model):
    """Something a customer can be entitled to; its key is the flag key used in code."""

    public_id = PublicIdField(prefix="feat")
    key = models.CharField(max_length=100, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    feature_type = models.CharField(max_length=16, choices=FeatureType.choices, default=FeatureType.BOOLEAN)
    event_name = models.CharField(
        max_length=200, blank=True, help_text="The tracked event that meters this feature (event features only)."
    )
    trait_key = models.CharField(
        max_length=100, blank=True, help_text="The company trait that meters this feature (trait features only)."
    )
    unit_singular = models.CharField(max_length=50, blank=True)
    unit_plural = models.CharField(max_length=50, blank=True)
    forced_value = models.BooleanField(
        null=True,
        blank=True,
        verbose_name="kill switch",
        help_text="Force the flag on or off for everyone, whatever plans and overrides say. Empty: no kill switch.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                Lower("key"),
                name="feature_key_unique_ci",
                violation_error_message="A feature with this key exists.",
                violation_error_code="duplicate_key",
            ),
            models.CheckConstraint(
                condition=(Q(feature_type=FeatureType.EVENT) & ~Q(event_name=""))
                | (~Q(feature_type=FeatureType.EVENT) & Q(event_name="")),
                name="feature_event_name_iff_event",
                violation_error_message="Event features need an event name; other types must not have one.",
            ),
            models.CheckConstraint(
                condition=(Q(feature_type=FeatureType.TRAIT) & ~Q(trait_key=""))
                | (~Q(feature_type=FeatureType.TRAIT) & Q(trait_key="")),
                name="feature_trait_key_iff_trait",
                violation_error_message="Trait features need a trait key; other types must not have one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Plan(models.Model):
    """A base plan or an add-on. One base plan is the initial plan for new companies, at most one the fallback."""

    public_id = PublicIdField(prefix="plan")
    key = models.CharField(max_length=100, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    plan_type = models.CharField(max_length=16, choices=PlanType.choices, default=PlanType.BASE)
    is_active = models.BooleanField(default=True, help_text="Inactive plans cannot be newly assigned.")
    trial_days = models.PositiveIntegerField(default=0)
    is_initial = models.BooleanField(default=False, help_text="New companies start on this plan.")
    is_fallback = models.BooleanField(default=False, help_text="Companies land here when a subscription ends.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                Lower("key"),
                name="plan_key_unique_ci",
                violation_error_message="A plan with this key exists.",
                violation_error_code="duplicate_key",
            ),
            models.UniqueConstraint(
                fields=["is_initial"],
                condition=Q(is_initial=True),
                name="plan_single_initial",
                violation_error_message="Another plan is already the initial plan.",
            ),
            models.UniqueConstraint(
                fields=["is_fallback"],
                condition=Q(is_fallback=True),
                name="plan_single_fallback",
                violation_error_message="Another plan is already the fallback plan.",
            ),
            models.CheckConstraint(
                condition=Q(plan_type=PlanType.BASE) | (Q(is_initial=False) & Q(is_fallback=False)),
                name="plan_initial_fallback_are_base",
                violation_error_message="Only a base plan can be the initial or the fallback plan.",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True) | (Q(is_initial=False) & Q(is_fallback=False)),
                name="plan_initial_fallback_are_active",
                violation_error_message="The initial and fallback plans must be active.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


_NO_CREDIT = Q(credit_type__isnull=True) & Q(consumption_rate__isnull=True)

# The valid shapes of an entitlement, one clause per value type. ``feature_type`` is copied from the feature so
# that the database itself refuses, say, a numeric limit on a boolean feature.
_ENTITLEMENT_SHAPE = (
    (
        Q(value_type=ValueType.BOOLEAN)
        & Q(feature_type=FeatureType.BOOLEAN)
        & Q(allocation__isnull=True)
        & Q(metric_period__isnull=True)
        & Q(trait_key="")
        & Q(soft_limit__isnull=True)
        & _NO_CREDIT
    )
    | (
        Q(value_type=ValueType.NUMERIC)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(allocation__isnull=False)
        & Q(trait_key="")
        & _NO_CREDIT
    )
    | (
        Q(value_type=ValueType.UNLIMITED)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(allocation__isnull=True)
        & Q(trait_key="")
        & Q(soft_limit__isnull=True)
        & _NO_CREDIT
    )
    | (
        Q(value_type=ValueType.TRAIT)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(allocation__isnull=True)
        & ~Q(trait_key="")
        & Q(soft_limit__isnull=True)
        & _NO_CREDIT
    )
    | (
        # A credit-metered feature burns credits on its tracked events: only event features can.
        Q(value_type=ValueType.CREDIT)
        & Q(feature_type=FeatureType.EVENT)
        & Q(allocation__isnull=True)
        & Q(trait_key="")
        & Q(soft_limit__isnull=True)
        & Q(credit_type__isnull=False)
        & Q(consumption_rate__isnull=False)
        & Q(consumption_rate__gte=0)
    )
)
# Event features are counted per window; trait features read a current value and have no window.
_ENTITLEMENT_PERIOD = (
    (Q(feature_type=FeatureType.EVENT) & Q(value_type__in=[ValueType.NUMERIC, ValueType.TRAIT]))
    & Q(metric_period__isnull=False)
) | (
    ~(Q(feature_type=FeatureType.EVENT) & Q(value_type__in=[ValueType.NUMERIC, ValueType.TRAIT]))
    & (Q(feature_type=FeatureType.EVENT) | Q(metric_period__isnull=True))
)
_IS_MONTHLY = Q(metric_period__isnull=False) & Q(metric_period=MetricPeriod.CURRENT_MONTH)
_ENTITLEMENT_MONTH_RESET = (_IS_MONTHLY & Q(month_reset__isnull=False)) | (~_IS_MONTHLY & Q(month_reset__isnull=True))


class Entitlement(models.Model):
    """What a plan gives for one feature: on/off, a limit per period, unlimited, or a limit read from a trait."""

    public_id = PublicIdField(prefix="ent")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="entitlements")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="entitlements")
    feature_type = models.CharField(
        max_length=16, choices=FeatureType.choices, editable=False, help_text="Copied from the feature."
    )
    value_type = models.CharField(max_length=16, choices=ValueType.choices, default=ValueType.BOOLEAN)
    allocation = models.PositiveBigIntegerField(null=True, blank=True, help_text="The limit (numeric only).")
    metric_period = models.CharField(max_length=16, choices=MetricPeriod.choices, null=True, blank=True)
    month_reset = models.CharField(max_length=16, choices=MonthReset.choices, null=True, blank=True)
    trait_key = models.CharField(
        max_length=100, blank=True, help_text="The company trait holding the limit (trait value type only)."
    )
    soft_limit = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Usage at which to warn before the limit (numeric only)."
    )
    credit_type = models.ForeignKey(
        "catalog.CreditType", null=True, blank=True, on_delete=models.PROTECT, related_name="entitlements"
    )
    consumption_rate = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="Credits burned per unit (credit only)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan__key", "feature__key"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "feature"],
                name="entitlement_unique_plan_feature",
                violation_error_message="This plan already has an entitlement for this feature.",
            ),
            models.CheckConstraint(
                condition=_ENTITLEMENT_SHAPE,
                name="entitlement_value_shape",
                violation_error_message="This value type does not fit the feature or its fields.",
            ),
            models.CheckConstraint(
                condition=_ENTITLEMENT_PERIOD,
                name="entitlement_metric_period_fits_feature",
                violation_error_message="Event limits need a metric period; trait and boolean features have none.",
            ),
            models.CheckConstraint(
                condition=_ENTITLEMENT_MONTH_RESET,
                name="entitlement_month_reset_iff_monthly",
                violation_error_message="A month reset is set exactly when the period is monthly.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.key} → {self.feature.key}"


class Price(models.Model):
    """An amount per interval and currency for a plan, in integer minor units."""

    public_id = PublicIdField(prefix="price")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    interval = models.CharField(max_length=8, choices=PriceInterval.choices)
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[a-z]{3}$", "Use a lower-case ISO 4217 code such as 'usd'.")],
    )
    amount_minor = models.PositiveBigIntegerField(help_text="In the currency's minor unit, e.g. cents.")
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan__key", "interval", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "interval", "currency"],
                name="price_unique_plan_interval_currency",
                violation_error_message="This plan already has a price for this interval and currency.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.key} {self.amount_minor} {self.currency}/{self.interval}"

"""Company overrides: exceptions an account team grants one company for one feature, with a note and an expiry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Feature, FeatureType, MetricPeriod, MonthReset
from core.public_ids import PublicIdField
from entitlements.models.companies import Company


class OverrideValueType(models.TextChoices):
    BOOLEAN = "boolean", "On or off"
    NUMERIC = "numeric", "Numeric limit"
    UNLIMITED = "unlimited", "Unlimited"
    TRAIT = "trait", "Limit read from a company trait"


class OverrideReason(models.TextChoices):
    """Why an exception was granted, as a category the back-office can count and filter (the note says the rest)."""

    SALES_DEAL = "sales_deal", "Sales deal"
    SUPPORT_GOODWILL = "support_goodwill", "Support goodwill"
    TRIAL = "trial", "Trial"
    INCIDENT = "incident", "Incident"
    OTHER = "other", "Other"


class OverrideState(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


_IS_MONTHLY = Q(metric_period__isnull=False) & Q(metric_period=MetricPeriod.CURRENT_MONTH)
_METERED_BY_EVENTS = Q(feature_type=FeatureType.EVENT) & Q(value_type__in=["numeric", "trait"])

# A boolean override switches any feature on or off; a limit needs a metered feature.
_OVERRIDE_SHAPE = (
    (
        Q(value_type=OverrideValueType.BOOLEAN)
        & Q(value__isnull=False)
        & Q(allocation__isnull=True)
        & Q(metric_period__isnull=True)
        & Q(trait_key="")
    )
    | (
        Q(value_type=OverrideValueType.NUMERIC)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(value__isnull=True)
        & Q(allocation__isnull=False)
        & Q(trait_key="")
    )
    | (
        Q(value_type=OverrideValueType.UNLIMITED)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(value__isnull=True)
        & Q(allocation__isnull=True)
        & Q(trait_key="")
    )
    | (
        Q(value_type=OverrideValueType.TRAIT)
        & ~Q(feature_type=FeatureType.BOOLEAN)
        & Q(value__isnull=True)
        & Q(allocation__isnull=True)
        & ~Q(trait_key="")
    )
)
_OVERRIDE_PERIOD = (_METERED_BY_EVENTS & Q(metric_period__isnull=False)) | (
    ~_METERED_BY_EVENTS & (Q(feature_type=FeatureType.EVENT) | Q(metric_period__isnull=True))
)


_PER_PERIOD: dict[str, str] = {
    MetricPeriod.CURRENT_DAY: " per day",
    MetricPeriod.CURRENT_WEEK: " per week",
    MetricPeriod.CURRENT_MONTH: " per month",
    MetricPeriod.ALL_TIME: " in total",
}


class CompanyOverride(models.Model):
    """One company's exception for one feature. At most one is active per company and feature; from ``expires_at``
    on it no longer applies (checks see that at once), and a periodic job marks it expired."""

    public_id = PublicIdField(prefix="ovr")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="overrides")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="overrides")
    feature_type = models.CharField(max_length=16, choices=FeatureType.choices, editable=False)
    value_type = models.CharField(max_length=16, choices=OverrideValueType.choices)
    value = models.BooleanField(null=True, blank=True, help_text="On or off (boolean overrides only).")
    allocation = models.PositiveBigIntegerField(null=True, blank=True)
    metric_period = models.CharField(max_length=16, choices=MetricPeriod.choices, null=True, blank=True)
    month_reset = models.CharField(max_length=16, choices=MonthReset.choices, null=True, blank=True)
    trait_key = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    note = models.TextField(help_text="Why: shown to the next person who reads this company.")
    reason = models.CharField(
        max_length=32,
        choices=OverrideReason.choices,
        blank=True,
        help_text="Why, as a category (empty for overrides granted before reasons were kept, or through the API "
        "without one).",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_by_label = models.CharField(max_length=255, help_text="Who granted it (staff user, API key, …).")
    state = models.CharField(max_length=16, choices=OverrideState.choices, default=OverrideState.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "feature"],
                condition=Q(state="active"),
                name="override_one_active_per_company_feature",
                violation_error_message="This company already has an active override for this feature.",
            ),
            models.CheckConstraint(condition=_OVERRIDE_SHAPE, name="override_value_shape"),
            models.CheckConstraint(condition=_OVERRIDE_PERIOD, name="override_metric_period_fits_feature"),
            models.CheckConstraint(
                condition=(_IS_MONTHLY & Q(month_reset__isnull=False)) | (~_IS_MONTHLY & Q(month_reset__isnull=True)),
                name="override_month_reset_iff_monthly",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="override_has_note"),
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="override_due")]

    def __str__(self) -> str:
        return f"{self.company} · {self.feature.key}: {self.describe()}"

    def describe(self) -> str:
        """``on``, ``off``, ``unlimited``, ``5,000 per month``, ``5,000 in total``, ``limit from trait seat_limit``."""
        if self.value_type == OverrideValueType.BOOLEAN:
            return "on" if self.value else "off"
        if self.value_type == OverrideValueType.UNLIMITED:
            return "unlimited"
        if self.value_type == OverrideValueType.TRAIT:
            return f"limit from trait {self.trait_key}"
        period = _PER_PERIOD.get(self.metric_period or "", "")
        return f"{self.allocation:,}{period}"

"""Companies and who they are: keys, traits, users and subscriptions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from catalog.models import Plan
from core.public_ids import PublicIdField


class TraitType(models.TextChoices):
    INT = "int", "Integer"
    STRING = "string", "String"
    BOOL = "bool", "Boolean"
    DATE = "date", "Date"


class TraitEntityType(models.TextChoices):
    COMPANY = "company", "Company"
    USER = "user", "User"


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


class Company(models.Model):
    """A customer account of the vendor."""

    public_id = PublicIdField(prefix="comp")
    name = models.CharField(max_length=255)
    has_payment_method = models.BooleanField(
        default=False,
        help_text="A payment method is on file: a trial converts to a paid subscription instead of ending.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class CompanyKey(models.Model):
    """One identifier of a company (``external_id`` → ``acme-1``). A (name, value) pair names one company."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100)
    value = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                Lower("value"),
                name="company_key_unique_ci",
                violation_error_message="Another company already has this key.",
                violation_error_code="duplicate_key",
            ),
            models.UniqueConstraint(
                "company",
                Lower("name"),
                name="company_key_one_value_per_name",
                violation_error_message="The company already has a value for this key name.",
                violation_error_code="duplicate_key_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class TraitDefinition(models.Model):
    """A named, typed attribute of companies or of users (``seats``: int)."""

    public_id = PublicIdField(prefix="trait")
    key = models.CharField(max_length=100)
    trait_type = models.CharField(max_length=8, choices=TraitType.choices)
    entity_type = models.CharField(max_length=8, choices=TraitEntityType.choices, default=TraitEntityType.COMPANY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_type", "key"]
        constraints = [
            models.UniqueConstraint(
                "entity_type",
                Lower("key"),
                name="trait_definition_unique_ci",
                violation_error_message="A trait with this key exists for this entity type.",
                violation_error_code="duplicate_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}.{self.key} ({self.trait_type})"


class CompanyTrait(models.Model):
    """A company's value of one trait, stored as its canonical string form (the wire format is strings)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="traits")
    definition = models.ForeignKey(TraitDefinition, on_delete=models.PROTECT, related_name="company_values")
    value = models.CharField(max_length=1000)

    class Meta:
        ordering = ["definition__key"]
        constraints = [
            models.UniqueConstraint(fields=["company", "definition"], name="company_trait_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key}={self.value}"


class User(models.Model):
    """A person at one or more companies, as the vendor's application knows them (not a login of this system)."""

    public_id = PublicIdField(prefix="user")
    name = models.CharField(max_length=255, blank=True)
    companies = models.ManyToManyField(Company, related_name="users", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.public_id


class UserKey(models.Model):
    """One identifier of a user (``email`` → ``a@b.c``). A (name, value) pair names one user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100)
    value = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                Lower("value"),
                name="user_key_unique_ci",
                violation_error_message="Another user already has this key.",
                violation_error_code="duplicate_key",
            ),
            models.UniqueConstraint(
                "user",
                Lower("name"),
                name="user_key_one_value_per_name",
                violation_error_message="The user already has a value for this key name.",
                violation_error_code="duplicate_key_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class UserTrait(models.Model):
    """A user's value of one trait, as its canonical string."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="traits")
    definition = models.ForeignKey(TraitDefinition, on_delete=models.PROTECT, related_name="user_values")
    value = models.CharField(max_length=1000)

    class Meta:
        ordering = ["definition__key"]
        constraints = [models.UniqueConstraint(fields=["user", "definition"], name="user_trait_unique")]

    def __str__(self) -> str:
        return f"{self.definition.key}={self.value}"


class Subscription(models.Model):
    """A company's base plan and add-ons over time. At most one per company is live (not canceled)."""

    public_id = PublicIdField(prefix="sub")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    add_ons: models.ManyToManyField[Plan, SubscriptionAddOn] = models.ManyToManyField(
        Plan, related_name="add_on_subscriptions", blank=True, through="SubscriptionAddOn"
    )
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=~Q(status=SubscriptionStatus.CANCELED),
                name="subscription_one_live_per_company",
                violation_error_message="The company already has a live subscription.",
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")),
                name="subscription_period_is_forward",
                violation_error_message="The period must end after it starts.",
                violation_error_code="period_backwards",
            ),
            models.CheckConstraint(
                condition=~Q(status=SubscriptionStatus.TRIALING) | Q(trial_ends_at__isnull=False),
                name="subscription_trial_has_end",
                violation_error_message="A trialing subscription needs a trial end.",
                violation_error_code="trial_without_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} on {self.plan.key} ({self.status})"


class SubscriptionAddOn(models.Model):
    """One add-on plan held by a subscription; the plan cannot be deleted while held."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "plan"], name="subscription_add_on_unique"),
        ]

    def __str__(self) -> str:
        return self.plan.key

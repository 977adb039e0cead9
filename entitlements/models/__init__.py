"""The entitlements app's tables, one module per aggregate."""

from entitlements.models.api_keys import ApiKey
from entitlements.models.companies import (
    Company,
    CompanyKey,
    CompanyTrait,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
    TraitDefinition,
    TraitEntityType,
    TraitType,
    User,
    UserKey,
    UserTrait,
)
from entitlements.models.overrides import CompanyOverride, OverrideReason, OverrideState, OverrideValueType
from entitlements.models.usage import FlagCheckRecord, UsageCounter, UsageEvent

__all__ = [
    "ApiKey",
    "Company",
    "CompanyKey",
    "CompanyOverride",
    "CompanyTrait",
    "FlagCheckRecord",
    "OverrideReason",
    "OverrideState",
    "OverrideValueType",
    "Subscription",
    "SubscriptionAddOn",
    "SubscriptionStatus",
    "TraitDefinition",
    "TraitEntityType",
    "TraitType",
    "UsageCounter",
    "UsageEvent",
    "User",
    "UserKey",
    "UserTrait",
]

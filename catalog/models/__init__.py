"""The catalog's tables: what can be sold (features, plans, entitlements, prices) and the vendor's credit currencies
(credit types, their prices, bundles and the credits plans include). One module each, re-exported here."""

from catalog.models.credits import BurnOrder, CreditBundle, CreditPrice, CreditType, PlanCreditGrant
from catalog.models.plans import (
    Entitlement,
    Feature,
    FeatureType,
    MetricPeriod,
    MonthReset,
    Plan,
    PlanType,
    Price,
    PriceInterval,
    ValueType,
    key_validator,
)

__all__ = [
    "BurnOrder",
    "CreditBundle",
    "CreditPrice",
    "CreditType",
    "Entitlement",
    "Feature",
    "FeatureType",
    "MetricPeriod",
    "MonthReset",
    "Plan",
    "PlanCreditGrant",
    "PlanType",
    "Price",
    "PriceInterval",
    "ValueType",
    "key_validator",
]

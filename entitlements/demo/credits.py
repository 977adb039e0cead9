"""The credits part of the demo: AI credits, a pack, a credit-metered feature and monthly credits in two plans."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from catalog.credit_services import credit_bundle_create, credit_type_create, plan_credit_grant_create
from catalog.models import CreditBundle, CreditType, Entitlement, Feature, Plan, PlanCreditGrant
from catalog.services import entitlement_create, feature_create
from entitlements.demo.summary import CURRENCY, DEMO_ACTOR, DemoSummary


def demo_credits_seed(summary: DemoSummary, plans: Mapping[str, Plan]) -> None:
    """AI credits: a credit type with a price and a pack, a credit-metered feature (2 credits an image) on Pro and
    Enterprise, and monthly credits included in those plans (half of Pro's unused credits roll over)."""
    credit_type = CreditType.objects.filter(key="ai-credits").first()
    summary.record("Credit types", "ai-credits", created=credit_type is None)
    if credit_type is None:
        credit_type = credit_type_create(
            actor=DEMO_ACTOR,
            key="ai-credits",
            name="AI credits",
            singular_name="AI credit",
            plural_name="AI credits",
            default_expiry_days=365,
            low_balance_threshold=Decimal(50),
            prices={"usd": Decimal(1)},
        )
    if not CreditBundle.objects.filter(key="ai-credits-1000").exists():
        credit_bundle_create(
            actor=DEMO_ACTOR,
            credit_type=credit_type,
            key="ai-credits-1000",
            name="1,000 AI credits",
            quantity=Decimal(1000),
            price_minor=900,
            currency=CURRENCY,
            expiry_days=365,
        )
    images = Feature.objects.filter(key="ai-images").first()
    summary.record("Features", "ai-images", created=images is None)
    if images is None:
        images = feature_create(
            actor=DEMO_ACTOR,
            key="ai-images",
            name="AI images",
            feature_type="event",
            event_name="image-generation",
            unit_singular="image",
            unit_plural="images",
            description="Images generated from a prompt, paid in credits.",
        )
    for plan_key, monthly, rollover in (("pro", 500, 50), ("enterprise", 5000, 100)):
        plan = plans[plan_key]
        if not Entitlement.objects.filter(plan=plan, feature=images).exists():
            entitlement_create(
                actor=DEMO_ACTOR,
                plan=plan,
                feature=images,
                value_type="credit",
                credit_type=credit_type,
                consumption_rate=Decimal(2),
            )
        if not PlanCreditGrant.objects.filter(plan=plan, credit_type=credit_type).exists():
            plan_credit_grant_create(
                actor=DEMO_ACTOR,
                plan=plan,
                credit_type=credit_type,
                quantity=Decimal(monthly),
                rollover_percent=rollover,
            )

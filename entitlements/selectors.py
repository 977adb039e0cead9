"""Reads of companies, their keys, traits and subscriptions, and API keys."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Lower

from core.errors import NotFound
from core.persistence import text_storable
from entitlements.models import ApiKey, Company, CompanyKey, CompanyTrait, Subscription, SubscriptionStatus
from entitlements.traits import trait_value_decode


def company_list(*, key_name: str | None = None, key_value: str | None = None) -> QuerySet[Company]:
    """Companies with keys, traits and live subscription prefetched; optionally those holding one key pair."""
    companies = Company.objects.order_by("name", "id").prefetch_related(
        "keys",
        Prefetch("traits", queryset=CompanyTrait.objects.select_related("definition")),
        Prefetch(
            "subscriptions",
            queryset=Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
            .select_related("plan")
            .prefetch_related("add_ons"),
            to_attr="live_subscriptions",
        ),
    )
    if key_name is not None and key_value is not None:
        if not (text_storable(key_name) and text_storable(key_value)):
            return companies.none()
        holders = CompanyKey.objects.annotate(name_lower=Lower("name"), value_lower=Lower("value")).filter(
            name_lower=key_name.lower(), value_lower=key_value.lower()
        )
        companies = companies.filter(pk__in=holders.values("company_id"))
    return companies


def company_get(*, public_id: str) -> Company:
    """The company with this public id (keys, traits and live subscription prefetched); ``NotFound`` otherwise."""
    company = company_list().filter(public_id=public_id).first() if text_storable(public_id) else None
    if company is None:
        raise NotFound(f"No company with id '{public_id}'.", field="company")
    return company


def company_keys(company: Company) -> dict[str, str]:
    """The company's keys as a name → value map."""
    return {key.name: key.value for key in company.keys.all()}


def company_traits(company: Company) -> dict[str, Any]:
    """The company's traits as key → JSON value (ints and booleans decoded from their stored strings)."""
    return {
        trait.definition.key: trait_value_decode(trait.definition.trait_type, trait.value)
        for trait in company.traits.all()
    }


def subscription_live_get(*, company: Company) -> Subscription | None:
    """The company's live (not canceled) subscription, if any."""
    prefetched = getattr(company, "live_subscriptions", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return (
        Subscription.objects.filter(company=company)
        .exclude(status=SubscriptionStatus.CANCELED)
        .select_related("plan")
        .prefetch_related("add_ons")
        .first()
    )


def subscription_current_get(*, company: Company) -> Subscription:
    """The live subscription, else the most recent ended one; ``NotFound`` if the company never had one."""
    subscription = subscription_live_get(company=company) or (
        Subscription.objects.filter(company=company).select_related("plan").prefetch_related("add_ons").first()
    )
    if subscription is None:
        raise NotFound("This company has no subscription.", field="subscription")
    return subscription


def api_key_find_active(*, secret_hash: str) -> ApiKey | None:
    """The unrevoked key with this secret digest, if any."""
    return ApiKey.objects.filter(secret_hash=secret_hash, revoked_at__isnull=True).first()

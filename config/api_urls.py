"""Routes of the management API, mounted at ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from catalog import api as catalog_api
from catalog import credit_api
from entitlements.api import companies as entitlements_api
from entitlements.api import credits as credits_api
from entitlements.api import overrides as overrides_api

urlpatterns = [
    path("features", catalog_api.FeatureListView.as_view(), name="feature-list"),
    path("features/<str:identifier>", catalog_api.FeatureDetailView.as_view(), name="feature-detail"),
    path("plans", catalog_api.PlanListView.as_view(), name="plan-list"),
    path("plans/<str:identifier>", catalog_api.PlanDetailView.as_view(), name="plan-detail"),
    path(
        "plans/<str:identifier>/entitlements",
        catalog_api.EntitlementListView.as_view(),
        name="entitlement-list",
    ),
    path(
        "plans/<str:identifier>/entitlements/<str:feature_identifier>",
        catalog_api.EntitlementDetailView.as_view(),
        name="entitlement-detail",
    ),
    path("plans/<str:identifier>/prices", catalog_api.PriceListView.as_view(), name="price-list"),
    path("plans/<str:identifier>/prices/<str:price_id>", catalog_api.PriceDetailView.as_view(), name="price-detail"),
    path("credit-types", credit_api.CreditTypeListView.as_view(), name="credit-type-list"),
    path("credit-types/<str:identifier>", credit_api.CreditTypeDetailView.as_view(), name="credit-type-detail"),
    path("credit-bundles", credit_api.CreditBundleListView.as_view(), name="credit-bundle-list"),
    path("credit-bundles/<str:identifier>", credit_api.CreditBundleDetailView.as_view(), name="credit-bundle-detail"),
    path("companies", entitlements_api.CompanyListView.as_view(), name="company-list"),
    path("companies/<str:public_id>", entitlements_api.CompanyDetailView.as_view(), name="company-detail"),
    path(
        "companies/<str:public_id>/entitlements",
        entitlements_api.CompanyEntitlementsView.as_view(),
        name="company-entitlements",
    ),
    path(
        "companies/<str:public_id>/features/<str:feature_identifier>/explain",
        entitlements_api.CompanyFeatureExplainView.as_view(),
        name="company-feature-explain",
    ),
    path("companies/<str:public_id>/overrides", overrides_api.OverrideListView.as_view(), name="override-list"),
    path(
        "companies/<str:public_id>/overrides/<str:feature_identifier>",
        overrides_api.OverrideDetailView.as_view(),
        name="override-detail",
    ),
    path("companies/<str:public_id>/trial", entitlements_api.TrialView.as_view(), name="company-trial"),
    path(
        "companies/<str:public_id>/subscription",
        entitlements_api.SubscriptionView.as_view(),
        name="company-subscription",
    ),
    path("companies/<str:public_id>/credit-grants", credits_api.CreditGrantView.as_view(), name="credit-grants"),
    path("companies/<str:public_id>/credit-refunds", credits_api.CreditRefundView.as_view(), name="credit-refunds"),
    path(
        "companies/<str:public_id>/credit-balances",
        credits_api.CreditBalancesView.as_view(),
        name="credit-balances",
    ),
    path("companies/<str:public_id>/credit-ledger", credits_api.CreditLedgerView.as_view(), name="credit-ledger"),
]

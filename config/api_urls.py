"""Routes of the management API, mounted at ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from catalog import api as catalog_api
from entitlements.api import companies as entitlements_api
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
]

"""Root URL configuration. SDK routes (checks, capture, datastream) live at the host root, as the SDKs expect."""

from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import errors_views, health
from entitlements.sdk import views as sdk_api

admin.site.site_header = "Monetization back-office"
admin.site.site_title = "Back-office"
admin.site.index_title = "Pricing, companies and entitlements"
admin.site.site_url = None  # no "View site" link: the back-office is the site (the customer portal has its own links)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True), name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # SDK routes: at the host root, because the SDKs append their paths to base_url / event_capture_url.
    path("flags/check", sdk_api.check_all, name="sdk-flags-check"),
    path("flags/<str:key>/check", sdk_api.check_one, name="sdk-flag-check"),
    path("batch", sdk_api.capture_batch, name="sdk-batch"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = errors_views.not_found
handler500 = errors_views.server_error

"""Django-level error pages: JSON for API and SDK paths, HTML elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

_HTML_PREFIXES = ("/admin/", "/portal/")


def _wants_json(request: HttpRequest) -> bool:
    return not request.path.startswith(_HTML_PREFIXES)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: ``{"error": …}`` outside the admin and the portal."""
    if _wants_json(request):
        return JsonResponse({"error": f"No route for {request.path}.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    """500: a JSON body outside the admin and the portal; details go to the log, never to the client."""
    if _wants_json(request):
        return JsonResponse({"error": "Internal server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)

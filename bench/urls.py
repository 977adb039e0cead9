"""The product's routes plus ``/bench/trivial``: the smallest Django JSON view, the baseline for request rates."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"data": {"value": True}, "params": {}})


urlpatterns = [path("bench/trivial", trivial), *product_urlpatterns]
handler404 = "core.errors_views.not_found"
handler500 = "core.errors_views.server_error"

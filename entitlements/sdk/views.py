"""The Schematic-compatible SDK routes at the host root: checks (``/flags/…``) and capture (``/batch``).

Plain Django views rather than DRF: these are the hot paths, and their envelopes are fixed by the SDKs
(PROTOCOL.md §2). Every error is a JSON ``{"error": …}`` body, which the SDKs parse; never a 500 for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core.actors import Actor, ActorKind
from core.errors import DomainError
from entitlements.authentication import api_key_secret_from_request
from entitlements.documents.resolution import Resolution, check_resolve
from entitlements.sdk.capture import batch_capture
from entitlements.sdk.capture_events import MAX_BATCH_SIZE
from entitlements.sdk.checks import CheckRequest, check_request_parse, flag_check, flags_check
from entitlements.selectors import ApiKeyIdentity, api_key_identity_get
from entitlements.services.api_keys import api_key_touch

logger = logging.getLogger(__name__)

_MAX_BODY_BYTES = 5 * 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


def _authenticate(request: HttpRequest) -> ApiKeyIdentity:
    identity = api_key_identity_get(secret=_secret(request))
    if identity is None:
        raise _Refused(401, {"error": "Invalid or revoked API key."})
    api_key_touch(api_key_id=identity.pk, public_id=identity.public_id, now=timezone.now())
    return identity


def _json_body(request: HttpRequest) -> Any:
    if len(request.body) > _MAX_BODY_BYTES:
        raise _Refused(413, {"error": "Request body too large."})
    try:
        return json.loads(request.body or b"null")
    except (ValueError, RecursionError) as error:
        raise _Refused(400, {"error": f"The body is not valid JSON: {error}"}) from error


def _secret(request: HttpRequest) -> str:
    secret = api_key_secret_from_request(request)
    if secret is None:
        raise _Refused(401, {"error": "Missing API key: send the X-Schematic-Api-Key header."})
    return secret


def _refusable(view: Any) -> Any:
    """Turn refusals and domain errors into JSON 4xx answers; POST only; no CSRF (API-key authenticated)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if request.method != "POST":
            return JsonResponse({"error": f"Method {request.method} not allowed; use POST."}, status=405)
        try:
            return view(request, *args, **kwargs)
        except _Refused as refusal:
            return JsonResponse(refusal.body, status=refusal.status)
        except DomainError as error:
            return JsonResponse({"error": error.message, "fields": error.fields}, status=error.http_status)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def _check_resolve(request: HttpRequest, check: CheckRequest, now: dt.datetime) -> Resolution:
    """Authenticate and load the documents in one go (one cache round trip when warm)."""
    resolution = check_resolve(
        secret=_secret(request), company_keys=check.company_keys, user_keys=check.user_keys, now=now
    )
    if resolution.identity is None:
        raise _Refused(401, {"error": "Invalid or revoked API key."})
    api_key_touch(api_key_id=resolution.identity.pk, public_id=resolution.identity.public_id, now=now)
    return resolution


@_refusable
def check_one(request: HttpRequest, key: str) -> JsonResponse:
    """``POST /flags/{key}/check``: one flag for the given company and user, with an optional preflight."""
    now = timezone.now()
    _secret(request)  # a missing key is refused before the body is read
    check = check_request_parse(_json_body(request))
    data = flag_check(flag_key=key, request=check, resolution=_check_resolve(request, check, now), now=now)
    if data is None:
        return JsonResponse({"error": "flag not found"}, status=404)
    return JsonResponse({"data": data, "params": {}})


@_refusable
def check_all(request: HttpRequest) -> JsonResponse:
    """``POST /flags/check``: every flag for the given company and user."""
    now = timezone.now()
    _secret(request)
    check = check_request_parse(_json_body(request))
    data = flags_check(request=check, resolution=_check_resolve(request, check, now), now=now)
    return JsonResponse({"data": data, "params": {}})


@_refusable
def capture_batch(request: HttpRequest) -> JsonResponse:
    """``POST /batch``: store identify, track and flag_check events; answer after they are committed.

    200 with counts when at least one event was valid (invalid ones are listed, the rest stored); 400 when none was,
    so that nothing is stored and a retry is harmless.
    """
    identity = _authenticate(request)
    body = _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return JsonResponse({"error": "The body must be an object with an 'events' array."}, status=400)
    events = body["events"]
    if len(events) > MAX_BATCH_SIZE:
        return JsonResponse({"error": "batch too large", "max_size": MAX_BATCH_SIZE}, status=400)
    actor = Actor(kind=ActorKind.API_KEY, identifier=identity.public_id, label=identity.name)
    outcome = batch_capture(events=events, actor=actor, now=timezone.now())
    answer = {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "rejected": [{"index": item.index, "type": item.event_type, "error": item.error} for item in outcome.rejected],
    }
    nothing_valid = events and len(outcome.rejected) == len(events)
    if nothing_valid:
        return JsonResponse({"error": "No event in the batch is valid.", **answer}, status=400)
    return JsonResponse(answer)

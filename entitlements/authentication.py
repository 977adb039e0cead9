"""API-key authentication for the management API and the SDK endpoints.

The secret arrives as ``X-Schematic-Api-Key: <secret>`` (what the Schematic SDKs send) or
``Authorization: Bearer <secret>``. Missing or wrong → 401 with a JSON body.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from entitlements.selectors import ApiKeyIdentity, api_key_identity_get
from entitlements.services.api_keys import api_key_touch

API_KEY_HEADER = "HTTP_X_SCHEMATIC_API_KEY"


def api_key_secret_from_request(request: HttpRequest) -> str | None:
    """The secret the client sent, from either accepted header; ``None`` when neither is present."""
    secret = request.META.get(API_KEY_HEADER, "").strip()
    if secret:
        return secret
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request by its API key secret."""

    def authenticate(self, request: Request) -> tuple[ApiKeyIdentity, ApiKeyIdentity] | None:
        secret = api_key_secret_from_request(request._request)
        if secret is None:
            return None
        identity = api_key_identity_get(secret=secret)
        if identity is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key_touch(api_key_id=identity.pk, public_id=identity.public_id, now=timezone.now())
        return identity, identity

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api", X-Schematic-Api-Key'


class HasApiKey(permissions.BasePermission):
    """Allows only requests authenticated by an API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKeyIdentity)

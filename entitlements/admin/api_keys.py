"""API keys in the admin: create one (its secret shown once), see when it was last used, revoke it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from core.admin import ServiceAdmin, admin_actor
from entitlements.models import ApiKey
from entitlements.services.api_keys import api_key_create, api_key_revoke


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "public_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "public_id"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["name", "prefix", "public_id", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name"] if obj is None else self.get_readonly_fields(request, obj)

    def service_create(self, request: HttpRequest, obj: ApiKey, form: Any) -> models.Model:
        issued = api_key_create(
            actor=admin_actor(request),
            name=form.cleaned_data["name"],
            created_by=request.user,  # type: ignore[arg-type]
        )
        self.message_user(
            request,
            f"Copy this secret now — it is stored only as a hash and will not be shown again: {issued.secret}",
            messages.WARNING,
        )
        return issued.api_key

    def service_update(self, request: HttpRequest, obj: ApiKey, form: Any) -> None:
        """Nothing on a key is editable; revoke it and create another instead."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are revoked, never deleted, so their use stays attributable

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for api_key in queryset:
            api_key_revoke(actor=admin_actor(request), api_key=api_key, now=timezone.now())
        self.message_user(request, f"Revoked {len(queryset)} key(s).", messages.SUCCESS)

"""The screen for the users of companies (the vendor's end users, not staff logins)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from core.admin import ServiceAdmin, admin_actor
from entitlements.admin.inlines import UserKeyInline, UserTraitInline, formset_merge_patch
from entitlements.models import User, UserKey
from entitlements.services.users import user_create, user_delete, user_update


@admin.register(User)
class UserAdmin(ServiceAdmin):
    list_display = ["__str__", "public_id", "created_at"]
    search_fields = ["name", "public_id", "keys__value"]
    fields = ["name", "companies", "public_id", "created_at"]
    readonly_fields = ["public_id", "created_at"]
    filter_horizontal = ["companies"]
    inlines = [UserKeyInline, UserTraitInline]

    def service_create(self, request: HttpRequest, obj: User, form: Any) -> models.Model:
        return user_create(
            actor=admin_actor(request),
            name=form.cleaned_data["name"],
            companies=list(form.cleaned_data["companies"]),
        )

    def service_update(self, request: HttpRequest, obj: User, form: Any) -> None:
        user_update(
            actor=admin_actor(request),
            user=obj,
            name=form.cleaned_data["name"],
            companies=list(form.cleaned_data["companies"]),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Memberships were saved by the service; only the key and trait inlines remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def service_delete(self, request: HttpRequest, obj: User) -> None:
        user_delete(actor=admin_actor(request), user=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        patch = formset_merge_patch(formset)
        if patch:
            if formset.model is UserKey:
                user_update(actor=admin_actor(request), user=form.instance, keys=patch)
            else:
                user_update(actor=admin_actor(request), user=form.instance, traits=patch)

"""Overrides in the admin: the list account executives work from, and the override's own page (the company page lists
the ones in force and grants new ones through the guided flow, ``entitlements.admin.grant_exception``).

Every save goes through ``entitlements.services.overrides``; forms check the same rules first so errors show next to
the fields. Overrides are never deleted: they are revoked (an action), and their history stays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User as StaffUser
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.admin import (
    ServiceAdmin,
    action_confirmation_context,
    action_confirmed,
    action_done_redirect,
    action_note,
    admin_actor,
)
from core.admin_job_pages import admin_job_started_message
from core.admin_jobs import admin_job_start
from entitlements.admin.bulk_jobs import OVERRIDE_REVOKE_JOB, override_revoke_one
from entitlements.models import Company, CompanyOverride, OverrideState
from entitlements.rules.overrides import override_month_reset_default, override_shape_errors, override_state_at
from entitlements.selectors import override_in_force_q, override_state_q
from entitlements.services.overrides import override_grant, override_update

_VALUE_FIELDS = ["value_type", "value", "allocation", "metric_period", "month_reset", "trait_key", "expires_at"]


class OnOffSelect(forms.NullBooleanSelect):
    """On / Off / — for a nullable boolean. Django's ``NullBooleanSelect`` maps ``True``/``False``/``None`` to its
    option values and back, so a stored ``False`` shows "Off" selected (a plain ``Select`` compares ``"False"`` with
    ``"false"``, shows nothing selected, and a browser then submits the blank first option)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", "On"), ("false", "Off")]


class OverrideForm(forms.ModelForm):
    """Checks the override's shape, its expiry and its note before the service writes it."""

    value = forms.NullBooleanField(required=False, widget=OnOffSelect, help_text="Boolean overrides only.")

    class Meta:
        model = CompanyOverride
        fields = ["company", "feature", *_VALUE_FIELDS, "reason", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        feature = data.get("feature") or getattr(self.instance, "feature", None)
        if feature is None or "value_type" not in data:
            return data
        data["month_reset"] = override_month_reset_default(data.get("metric_period"), data.get("month_reset"))
        errors = override_shape_errors(
            feature_type=feature.feature_type,
            value_type=data["value_type"],
            value=data.get("value"),
            allocation=data.get("allocation"),
            metric_period=data.get("metric_period") or None,
            month_reset=data.get("month_reset") or None,
            trait_key=data.get("trait_key") or "",
        )
        expires_at = data.get("expires_at")
        if expires_at is not None and "expires_at" in self.changed_data and expires_at <= timezone.now():
            errors.setdefault("expires_at", []).append("The expiry must be in the future.")
        company = data.get("company") or getattr(self.instance, "company", None)
        if not self.instance.pk and not data.get("reason"):
            errors.setdefault("reason", []).append("Choose why this company gets an exception.")
        if not self.instance.pk and company is not None:
            taken = CompanyOverride.objects.filter(
                override_in_force_q(timezone.now()), company=company, feature=feature
            )
            if taken.exists():
                errors.setdefault("feature", []).append("This company already has an active override for it.")
        for field, messages_ in errors.items():
            for message in messages_:
                self.add_error(field if field in self.fields else None, message)
        return data


def _grant_from_form(request: HttpRequest, company: Company, form: Any) -> CompanyOverride:
    data = form.cleaned_data
    return override_grant(
        actor=admin_actor(request),
        company=company,
        feature=data["feature"],
        note=data["note"],
        reason=data.get("reason") or "",
        granted_by=request.user if isinstance(request.user, StaffUser) else None,
        now=timezone.now(),
        **{name: data.get(name) for name in _VALUE_FIELDS if name != "trait_key"},
        trait_key=data.get("trait_key") or "",
    )


def _update_from_form(request: HttpRequest, override: CompanyOverride, form: Any) -> None:
    changes = {name: form.cleaned_data.get(name) for name in form.changed_data if name in _VALUE_FIELDS}
    note = form.cleaned_data.get("note", "") if "note" in form.changed_data else ""
    if changes or note:
        override_update(actor=admin_actor(request), override=override, note=note, now=timezone.now(), **changes)


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7d", "Expiring within 7 days"), ("later", "Expiring later"), ("never", "No expiry"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        now = timezone.now()
        week = now + dt.timedelta(days=7)
        return {
            "7d": lambda: queryset.filter(expires_at__gt=now, expires_at__lt=week),
            "later": lambda: queryset.filter(expires_at__gte=week),
            "never": lambda: queryset.filter(expires_at__isnull=True),
            "past": lambda: queryset.filter(expires_at__lte=now),
        }.get(self.value() or "", lambda: queryset)()


class StateFilter(admin.SimpleListFilter):
    """Active, expired or revoked as of now (``override_state_at``): one past its expiry is expired."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in OverrideState.choices]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        value = self.value()
        return queryset.filter(override_state_q(value, timezone.now())) if value else queryset


@admin.register(CompanyOverride)
class CompanyOverrideAdmin(ServiceAdmin):
    form = OverrideForm
    list_display = [
        "company",
        "feature",
        "summary",
        "state_now",
        "expires_at",
        "reason",
        "granted_by_label",
        "created_at",
    ]
    list_filter = [StateFilter, "feature", "reason", "granted_by_label", ExpiryFilter]
    search_fields = ["company__name", "company__public_id", "feature__key", "note", "public_id"]
    list_select_related = ["company", "feature"]
    autocomplete_fields = ["company", "feature"]
    actions = ["revoke"]

    @admin.display(description="Value")
    def summary(self, override: CompanyOverride) -> str:
        return override.describe()

    @admin.display(description="state", ordering="state")
    def state_now(self, override: CompanyOverride) -> str:
        """The state as checks see it now (an override past its expiry is expired, marked by the job or not)."""
        return override_state_at(state=override.state, expires_at=override.expires_at, now=timezone.now())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["public_id", "state_now", "granted_by_label", "ended_at", "created_at"]
        return ["company", "feature", "reason", *fixed] if obj is not None else fixed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the history stays

    def service_create(self, request: HttpRequest, obj: CompanyOverride, form: Any) -> models.Model:
        return _grant_from_form(request, form.cleaned_data["company"], form)

    def service_update(self, request: HttpRequest, obj: CompanyOverride, form: Any) -> None:
        _update_from_form(request, CompanyOverride.objects.get(pk=obj.pk), form)

    @admin.action(description="Revoke the selected overrides", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """First a confirmation page: which exceptions end, for whom, and a required reason (kept in the audit log);
        the overrides are revoked once it is confirmed. Ones no longer in force are left as they are."""
        in_force = list(queryset.filter(override_in_force_q(timezone.now())).select_related("company", "feature"))
        note = action_note(request)
        if action_confirmed(request) and note and in_force:
            # Too many for one request: a job runs them, and its page shows how far it got.
            if len(in_force) > settings.ADMIN_BULK_INLINE_LIMIT:
                job = admin_job_start(
                    kind=OVERRIDE_REVOKE_JOB,
                    title="Revoke overrides",
                    item_ids=[override.pk for override in in_force],
                    params={"note": note},
                    created_by=request.user if isinstance(request.user, StaffUser) else None,
                    actor=admin_actor(request),
                )
                admin_job_started_message(self, request, job, items="overrides")
                return action_done_redirect(request)
            for override in in_force:
                override_revoke_one(actor=admin_actor(request), override=override, note=note)
            self.message_user(request, f"Revoked {len(in_force)} override(s).", messages.SUCCESS)
            return action_done_redirect(request)
        if not in_force:
            self.message_user(request, "None of the selected overrides is in force: nothing to revoke.", messages.INFO)
            return None
        context = {
            **action_confirmation_context(
                self,
                request,
                title=f"Revoke {len(in_force)} override{'s' if len(in_force) != 1 else ''}?",
                selected=in_force,
                note_required=True,
                note_label="Reason (required, kept in the audit log)",
                note_missing_message="Say why these exceptions end.",
                submit_label="Revoke",
            ),
            "overrides": in_force,
        }
        return TemplateResponse(request, "admin/entitlements/companyoverride/revoke_confirmation.html", context)

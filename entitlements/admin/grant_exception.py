"""The guided "grant an exception" flow of a company: feature → value (with what the company has now) → expiry →
reason and note → the board as it will read → confirm.

``<company pk>/grant/`` needs the change permission on companies and the add permission on overrides. A GET without
``feature`` lists the catalog's features with what the company has now; ``?feature=<key>`` shows the form; a POST with
``step=preview`` validates it and shows the board after the change (``company_board_preview``: the same build and
engine as checks, nothing written), every answer carried in hidden fields; ``step=confirm`` validates again and
grants through ``override_grant``. Nothing is written before the confirmation, and a refused grant (an override
granted meanwhile, an expiry passed while the page was open) comes back on the form with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth.models import User as StaffUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from catalog.models import Entitlement, Feature, FeatureType, MetricPeriod, MonthReset
from core.admin import admin_actor
from core.errors import ValidationFailed
from entitlements.admin.board import BoardRow, board_row, board_rows
from entitlements.admin.overrides import OnOffSelect
from entitlements.board.entitlement_board import FeatureState, company_board_preview
from entitlements.models import Company, CompanyOverride, OverrideReason, OverrideValueType, SubscriptionStatus
from entitlements.rules.overrides import (
    ExpiryPreset,
    override_expiry_for_preset,
    override_month_reset_default,
    override_shape_errors,
)
from entitlements.selectors import override_in_force_q, subscription_live_get
from entitlements.services.overrides import override_grant

OWN_DATE = "date"  # the expiry choice "on a date of my own" (``expires_at``)

_PRESET_LABELS = {
    ExpiryPreset.END_OF_MONTH: "End of this month",
    ExpiryPreset.DAYS_7: "7 days",
    ExpiryPreset.DAYS_30: "30 days",
    ExpiryPreset.DAYS_90: "90 days",
    ExpiryPreset.END_OF_TRIAL: "End of the trial",
    ExpiryPreset.NONE: "No expiry (until revoked)",
}
# The value types an override of each kind of feature may take (``override_shape_errors`` has the same rules).
_VALUE_TYPES = {
    FeatureType.BOOLEAN: [OverrideValueType.BOOLEAN],
    FeatureType.EVENT: [OverrideValueType.NUMERIC, OverrideValueType.UNLIMITED, OverrideValueType.BOOLEAN],
    FeatureType.TRAIT: [
        OverrideValueType.NUMERIC,
        OverrideValueType.UNLIMITED,
        OverrideValueType.TRAIT,
        OverrideValueType.BOOLEAN,
    ],
}


def moment_text(moment: dt.datetime) -> str:
    """``1 Jan 2027 00:00 UTC``."""
    utc = moment.astimezone(dt.UTC)
    return f"{utc.day} {utc:%b %Y %H:%M} UTC"


def until_text(moment: dt.datetime | None) -> str:
    """``until 1 Jan 2027 00:00 UTC``; ``until revoked`` for none."""
    return f"until {moment_text(moment)}" if moment else "until revoked"


class ExceptionForm(forms.Form):
    """One exception for one feature: what it grants, until when, and why (a reason code and a note).

    ``cleaned_data["expires_at"]`` is the expiry the chosen preset (or date) gives at the instant of the form.
    """

    value_type = forms.ChoiceField(label="Grant")
    value = forms.NullBooleanField(required=False, widget=OnOffSelect, label="On or off")
    allocation = forms.IntegerField(required=False, min_value=0, label="Limit")
    metric_period = forms.ChoiceField(
        required=False, choices=[("", "—"), *MetricPeriod.choices], label="Per", help_text="Metered features only."
    )
    month_reset = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *MonthReset.choices],
        label="Month starts",
        help_text="Monthly limits only; empty: on the 1st of the month.",
    )
    trait_key = forms.CharField(required=False, max_length=100, label="Trait holding the limit")
    expiry = forms.ChoiceField(widget=forms.RadioSelect, label="Until")
    expires_at = forms.SplitDateTimeField(required=False, widget=AdminSplitDateTime, label="Date (UTC)")
    reason = forms.ChoiceField(choices=[("", "—"), *OverrideReason.choices])
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Kept on the override and in the audit log; the next person who reads this company sees it.",
    )

    def __init__(
        self, *args: Any, feature: Feature, trial_ends_at: dt.datetime | None, now: dt.datetime, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.feature, self.trial_ends_at, self.now = feature, trial_ends_at, now
        kinds = _VALUE_TYPES.get(FeatureType(feature.feature_type), [OverrideValueType.BOOLEAN])
        value_types = self.fields["value_type"]
        assert isinstance(value_types, forms.ChoiceField)
        value_types.choices = [(kind.value, kind.label) for kind in kinds]
        presets = [preset for preset in ExpiryPreset if preset != ExpiryPreset.END_OF_TRIAL or trial_ends_at]
        expiry = self.fields["expiry"]
        assert isinstance(expiry, forms.ChoiceField)
        expiry.choices = [
            *((preset.value, self._preset_label(preset)) for preset in presets),
            (OWN_DATE, "On a date"),
        ]

    def _preset_label(self, preset: ExpiryPreset) -> str:
        ends = override_expiry_for_preset(preset, now=self.now, trial_ends_at=self.trial_ends_at)
        return _PRESET_LABELS[preset] + (f" ({moment_text(ends)})" if ends else "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "value_type" not in data:
            return data
        value_type = data["value_type"]
        if value_type != OverrideValueType.BOOLEAN:
            data["value"] = None
        if value_type != OverrideValueType.NUMERIC:
            data["allocation"] = None
        if value_type != OverrideValueType.TRAIT:
            data["trait_key"] = ""
        if value_type == OverrideValueType.BOOLEAN or self.feature.feature_type != FeatureType.EVENT:
            data["metric_period"], data["month_reset"] = None, None
        data["metric_period"] = data.get("metric_period") or None
        data["month_reset"] = override_month_reset_default(data["metric_period"], data.get("month_reset") or None)
        errors = override_shape_errors(
            feature_type=self.feature.feature_type,
            value_type=value_type,
            value=data.get("value"),
            allocation=data.get("allocation"),
            metric_period=data["metric_period"],
            month_reset=data["month_reset"],
            trait_key=data.get("trait_key") or "",
        )
        expiry = data.get("expiry")
        if expiry == OWN_DATE:
            if data.get("expires_at") is None:
                errors.setdefault("expires_at", []).append("Choose the date the exception ends.")
            elif data["expires_at"] <= self.now:
                errors.setdefault("expires_at", []).append("The expiry must be in the future.")
        elif expiry:
            data["expires_at"] = override_expiry_for_preset(
                ExpiryPreset(expiry), now=self.now, trial_ends_at=self.trial_ends_at
            )
        for field, field_errors in errors.items():
            for error in field_errors:
                self.add_error(field if field in self.fields else None, error)
        return data

    def override(self, *, company: Company, granted_by_label: str) -> CompanyOverride:
        """The override the form describes, unsaved (for the preview)."""
        data = self.cleaned_data
        return CompanyOverride(
            company=company,
            feature=self.feature,
            feature_type=self.feature.feature_type,
            value_type=data["value_type"],
            value=data.get("value"),
            allocation=data.get("allocation"),
            metric_period=data.get("metric_period"),
            month_reset=data.get("month_reset"),
            trait_key=data.get("trait_key") or "",
            expires_at=data.get("expires_at"),
            note=data["note"].strip(),
            reason=data["reason"],
            granted_by_label=granted_by_label,
        )


def _initial(state: FeatureState | None, feature: Feature) -> dict[str, Any]:
    """The form's first values: what the company has now (so raising a limit starts from the current one, metered
    over the same period with the same month start)."""
    kinds = _VALUE_TYPES.get(FeatureType(feature.feature_type), [OverrideValueType.BOOLEAN])
    initial: dict[str, Any] = {"value_type": kinds[0].value, "expiry": ExpiryPreset.END_OF_MONTH.value}
    if feature.feature_type == FeatureType.BOOLEAN:
        initial["value"] = not (state.value if state else False)  # an exception flips what the plan gives
    if state is not None and state.allocation is not None:
        initial["allocation"] = state.allocation
    if feature.feature_type == FeatureType.EVENT:
        initial["metric_period"] = (state.metric_period if state else None) or MetricPeriod.CURRENT_MONTH
        initial["month_reset"] = _month_reset_now(state, feature) or ""
    return initial


def _month_reset_now(state: FeatureState | None, feature: Feature) -> str | None:
    """When the month of the entitlement in force starts (billing period or calendar), read from where it comes from."""
    if state is None or state.metric_period != MetricPeriod.CURRENT_MONTH:
        return None
    source_id = state.source.get("id", "")
    if state.source.get("kind") == "override":
        return CompanyOverride.objects.filter(public_id=source_id).values_list("month_reset", flat=True).first()
    rows = Entitlement.objects.filter(plan__public_id=source_id, feature=feature)
    return rows.values_list("month_reset", flat=True).first()


@dataclass(frozen=True, slots=True)
class FeatureChoice:
    """One feature on the flow's first page: what the company has now, and whether an exception can be added."""

    row: BoardRow
    grant_url: str
    override_url: str  # the active override's page when it has one (change that one instead)


class GrantExceptionAdmin(admin.ModelAdmin):
    """Adds the guided flow at ``<company pk>/grant/`` to the company admin."""

    def get_urls(self) -> list[URLPattern]:
        grant = path(
            "<int:company_id>/grant/",
            self.admin_site.admin_view(self.grant_exception_view),
            name="entitlements_company_grant",
        )
        return [grant, *super().get_urls()]

    def _may_grant(self, request: HttpRequest, company: Company) -> bool:
        return self.has_change_permission(request, company) and request.user.has_perm(
            "entitlements.add_companyoverride"
        )

    def grant_exception_view(self, request: HttpRequest, company_id: int) -> HttpResponse:
        company = Company.objects.filter(pk=company_id).first()
        if company is None:
            raise Http404("No such company.")
        if not self._may_grant(request, company):
            raise PermissionDenied
        now = timezone.now()
        feature_key = request.POST.get("feature") or request.GET.get("feature") or ""
        if not feature_key:
            return self._feature_choice(request, company, now)
        feature = Feature.objects.filter(key__iexact=feature_key).first()
        if feature is None:
            raise Http404("No such feature.")
        return self._feature_exception(request, company, feature, now)

    def _context(self, request: HttpRequest, company: Company, title: str) -> dict[str, Any]:
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "company": company,
            "company_url": reverse("admin:entitlements_company_change", args=[company.pk]),
            "grant_url": reverse("admin:entitlements_company_grant", args=[company.pk]),
        }

    def _feature_choice(self, request: HttpRequest, company: Company, now: dt.datetime) -> HttpResponse:
        grant_url = reverse("admin:entitlements_company_grant", args=[company.pk])
        overrides = dict(
            CompanyOverride.objects.filter(override_in_force_q(now), company=company).values_list("feature_id", "pk")
        )
        choices = [
            FeatureChoice(
                row=row,
                grant_url=f"{grant_url}?feature={row.state.feature.key}",
                override_url=(
                    reverse("admin:entitlements_companyoverride_change", args=[overrides[row.state.feature.pk]])
                    if row.state.feature.pk in overrides
                    else ""
                ),
            )
            for row in board_rows(company=company, now=now)
        ]
        context = {**self._context(request, company, f"Grant {company.name} an exception"), "choices": choices}
        return TemplateResponse(request, "admin/entitlements/company/grant_exception_feature.html", context)

    def _feature_exception(
        self, request: HttpRequest, company: Company, feature: Feature, now: dt.datetime
    ) -> HttpResponse:
        live = subscription_live_get(company=company)
        trial_ends_at = live.trial_ends_at if live and live.status == SubscriptionStatus.TRIALING else None
        current = next(
            (row for row in board_rows(company=company, now=now) if row.state.feature.pk == feature.pk), None
        )
        existing = CompanyOverride.objects.filter(override_in_force_q(now), company=company, feature=feature).first()
        form_kwargs: dict[str, Any] = {"feature": feature, "trial_ends_at": trial_ends_at, "now": now}
        if request.method == "POST":
            form = ExceptionForm(request.POST, **form_kwargs)
        else:
            form = ExceptionForm(initial=_initial(current.state if current else None, feature), **form_kwargs)
        step = request.POST.get("step", "") if request.method == "POST" else ""
        context = {
            **self._context(request, company, f"Grant {company.name} an exception for {feature.name}"),
            "feature": feature,
            "current": current,
            "existing": existing,
            "existing_url": (
                reverse("admin:entitlements_companyoverride_change", args=[existing.pk]) if existing else ""
            ),
            "form": form,
            "preview": None,
        }
        if existing is None and step in ("preview", "confirm") and form.is_valid():
            actor = admin_actor(request)
            if step == "confirm":
                granted = self._grant(request, company, form, actor_label=actor.label)
                if granted is not None:
                    return HttpResponseRedirect(context["company_url"])
            else:
                context["preview"] = self._preview(company, form, current, actor.label, now)
        status = 400 if request.method == "POST" and not form.is_valid() else 200
        return TemplateResponse(request, "admin/entitlements/company/grant_exception.html", context, status=status)

    def _preview(
        self, company: Company, form: ExceptionForm, current: BoardRow | None, actor_label: str, now: dt.datetime
    ) -> dict[str, Any]:
        override = form.override(company=company, granted_by_label=actor_label)
        states = company_board_preview(company=company, now=now, override=override)
        rows = [board_row(state=state, why_url="", source_urls={}) for state in states]
        after = next((row for row in rows if row.state.feature.pk == form.feature.pk), None)
        return {
            "override": override,
            "describe": override.describe(),
            "until": until_text(override.expires_at),
            "reason": OverrideReason(override.reason).label,
            "pair": [(label, row) for label, row in (("Now", current), ("After", after)) if row is not None],
            "rows": rows,
            "now": now,
        }

    def _grant(
        self, request: HttpRequest, company: Company, form: ExceptionForm, *, actor_label: str
    ) -> CompanyOverride | None:
        data = form.cleaned_data
        try:
            override = override_grant(
                actor=admin_actor(request),
                company=company,
                feature=form.feature,
                value_type=data["value_type"],
                value=data.get("value"),
                allocation=data.get("allocation"),
                metric_period=data.get("metric_period"),
                month_reset=data.get("month_reset"),
                trait_key=data.get("trait_key") or "",
                expires_at=data.get("expires_at"),
                note=data["note"],
                reason=data["reason"],
                granted_by=request.user if isinstance(request.user, StaffUser) else None,
                now=timezone.now(),
            )
        except ValidationFailed as error:
            for field, field_errors in (error.fields or {}).items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
            if not error.fields:
                form.add_error(None, str(error))
            return None
        until = until_text(override.expires_at)
        self.message_user(
            request,
            f"{company.name} now has {form.feature.name} {override.describe()} {until} "
            f"({OverrideReason(override.reason).label}).",
            messages.SUCCESS,
        )
        return override

"""The plan page, with a guard-rail before its entitlements change: who the change would hurt.

``catalog`` cannot read companies or usage, so the catalog's plan page is re-registered here with an entitlement
inline whose formset asks ``entitlements.board.plan_impact`` about every row that could give companies less (a lower
limit, unlimited made a limit, a row deleted). When some company on the plan would go over its new limit or lose
the feature, the save is refused with the list at the top of the inline until "Apply these entitlement changes
anyway" is ticked; the change is then audited with that list as its note. A change that hurts nobody saves at once.
The list is plain text (a form error is escaped), so company names are not links.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.utils import timezone

from catalog import admin as catalog_admin
from catalog.models import Entitlement, Plan
from entitlements.board.plan_impact import (
    EntitlementValues,
    PlanLimitChangeImpact,
    plan_limit_change_impact,
    plan_limit_change_impact_words,
)

CONFIRM_FIELD = "apply_entitlement_changes"
CONFIRM_LABEL = "Apply these entitlement changes anyway"


def _values_from_form(cleaned_data: dict[str, Any]) -> EntitlementValues:
    """The values an entitlement row of the form would grant once saved."""
    credit_type = cleaned_data.get("credit_type")
    return EntitlementValues(
        value_type=cleaned_data["value_type"],
        allocation=cleaned_data.get("allocation"),
        metric_period=cleaned_data.get("metric_period") or None,
        month_reset=cleaned_data.get("month_reset") or None,
        trait_key=cleaned_data.get("trait_key") or "",
        soft_limit=cleaned_data.get("soft_limit"),
        credit_type_id=credit_type.public_id if credit_type is not None else "",
        consumption_rate=cleaned_data.get("consumption_rate"),
    )


class PlanForm(forms.ModelForm):
    """The plan's fields and the confirmation the entitlement inline asks for; the confirmation is not a change of
    the plan (it is left out of ``changed_data``, so an unchanged plan is not written and the services never see it)."""

    apply_entitlement_changes = forms.BooleanField(
        required=False,
        label=CONFIRM_LABEL,
        help_text="Needed only when the save would put companies on this plan over a limit or take a feature away; "
        "the page lists them first.",
    )

    @property
    def changed_data(self) -> list[str]:
        return [name for name in super().changed_data if name != CONFIRM_FIELD]


class EntitlementImpactFormSet(BaseInlineFormSet):
    """Entitlement rows that refuse, unless confirmed, a change that would hurt companies on the plan.

    After ``clean``, ``impacts`` holds the impact of every hurting row by the entitlement's primary key (confirmed or
    not), for the audit note.
    """

    impacts: dict[int, PlanLimitChangeImpact]

    def is_confirmed(self) -> bool:
        """Whether the page was submitted with "Apply these entitlement changes anyway" ticked."""
        return bool(forms.CheckboxInput().value_from_datadict(self.data, self.files, CONFIRM_FIELD))

    def clean(self) -> None:
        super().clean()
        self.impacts = {}
        if any(self.errors):  # the rows' own errors come first; their values are not known yet
            return
        now = timezone.now()
        for form in self.forms:
            if form.instance.pk is None:
                continue  # a new row only adds: the most generous entitlement wins
            deleted = self.can_delete and bool(form.cleaned_data.get(DELETION_FIELD_NAME))
            if not (deleted or form.has_changed()):
                continue
            # The stored row: the form has already written its values onto ``form.instance``.
            stored = Entitlement.objects.select_related("plan", "feature", "credit_type").get(pk=form.instance.pk)
            new = None if deleted else _values_from_form(form.cleaned_data)
            impact = plan_limit_change_impact(entitlement=stored, new=new, now=now)
            if impact.hurts:
                self.impacts[stored.pk] = impact
        if self.impacts and not self.is_confirmed():
            sentences = [plan_limit_change_impact_words(impact) for impact in self.impacts.values()]
            raise ValidationError(
                [*sentences, f"Tick “{CONFIRM_LABEL}” above and save again to apply the changes."],
                code="entitlement_change_hurts",
            )


class EntitlementImpactInline(catalog_admin.EntitlementInline):
    formset = EntitlementImpactFormSet


admin.site.unregister(Plan)


@admin.register(Plan)
class PlanWithImpactAdmin(catalog_admin.PlanAdmin):
    """The catalog's plan page, asking before an entitlement change that hurts companies on the plan."""

    form = PlanForm
    fields = [*catalog_admin.PlanAdmin.fields, CONFIRM_FIELD]
    inlines = [EntitlementImpactInline, catalog_admin.PriceInline]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [name for name in fields if name != CONFIRM_FIELD]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        """A new plan gets the catalog's own form: no company is on it, there is nothing to confirm."""
        if obj is None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def entitlement_notes(self, formset: Any) -> dict[int, str]:
        """A confirmed change that hurts companies carries what it does to them as its audit note."""
        impacts: dict[int, PlanLimitChangeImpact] = getattr(formset, "impacts", {})
        return {pk: f"Applied anyway: {plan_limit_change_impact_words(impact)}" for pk, impact in impacts.items()}

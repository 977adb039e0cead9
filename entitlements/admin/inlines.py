"""Key and trait inlines shared by the company and user screens, saved as one merge-patch through a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from entitlements.models import CompanyKey, CompanyTrait, TraitDefinition, UserKey, UserTrait
from entitlements.rules.traits import TraitValueError, trait_value_encode


class TraitValueForm(forms.ModelForm):
    """Checks that the value fits the chosen trait's type."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        definition, value = data.get("definition"), data.get("value")
        if isinstance(definition, TraitDefinition) and value is not None:
            try:
                data["value"] = trait_value_encode(definition.trait_type, value)
            except TraitValueError as error:
                self.add_error("value", f"'{definition.key}' is of type {definition.trait_type}: {error}.")
        return data


class CompanyKeyInline(admin.TabularInline):
    model = CompanyKey
    fields = ["name", "value"]
    extra = 1
    verbose_name = "key"


class CompanyTraitInline(admin.TabularInline):
    model = CompanyTrait
    form = TraitValueForm
    fields = ["definition", "value"]
    extra = 1
    verbose_name = "trait"

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "definition":
            kwargs["queryset"] = TraitDefinition.objects.filter(entity_type="company")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class UserKeyInline(admin.TabularInline):
    model = UserKey
    fields = ["name", "value"]
    extra = 1
    verbose_name = "key"


class UserTraitInline(admin.TabularInline):
    model = UserTrait
    form = TraitValueForm
    fields = ["definition", "value"]
    extra = 1
    verbose_name = "trait"

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "definition":
            kwargs["queryset"] = TraitDefinition.objects.filter(entity_type="user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def formset_merge_patch(formset: Any) -> dict[str, Any]:
    """A key or trait inline formset as a merge-patch (``None`` removes), recording the admin's change message."""
    is_trait = formset.model in (CompanyTrait, UserTrait)

    def name_of(values: dict[str, Any] | Any) -> str:
        if isinstance(values, dict):
            return str(values["definition"].key if is_trait else values["name"])
        return str(values.definition.key if is_trait else values.name)

    patch: dict[str, Any] = {}
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        if form in formset.deleted_forms:
            if form.instance.pk is not None:
                patch[name_of(form.instance)] = None
                formset.deleted_objects.append(form.instance)
            continue
        if not form.has_changed():
            continue
        if form.instance.pk is not None:
            stored = type(form.instance).objects.get(pk=form.instance.pk)
            if name_of(stored) != name_of(form.cleaned_data):
                patch[name_of(stored)] = None
            formset.changed_objects.append((form.instance, form.changed_data))
        else:
            formset.new_objects.append(form.instance)
        patch[name_of(form.cleaned_data)] = form.cleaned_data["value"]
    return patch

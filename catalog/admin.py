"""Back-office screens for the catalog. Every save goes through ``catalog.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from catalog import credit_services, services
from catalog.entitlement_rules import EntitlementShape, entitlement_shape_errors, entitlement_shape_normalize
from catalog.models import (
    CreditBundle,
    CreditPrice,
    CreditType,
    Entitlement,
    Feature,
    Plan,
    PlanCreditGrant,
    PlanType,
    Price,
)
from core.admin import ReadOnlyAdmin, ServiceAdmin, admin_actor, changed_fields, inline_formset_save, instance_adopt

_ENTITLEMENT_VALUE_FIELDS = [
    "value_type",
    "allocation",
    "metric_period",
    "month_reset",
    "trait_key",
    "soft_limit",
    "credit_type",
    "consumption_rate",
]


def _values(cleaned_data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The named values of a form, absent ones as ``None``."""
    return {name: cleaned_data.get(name) for name in names}


class FeatureForm(forms.ModelForm):
    class Meta:
        model = Feature
        fields = [
            "key",
            "name",
            "description",
            "feature_type",
            "event_name",
            "trait_key",
            "unit_singular",
            "unit_plural",
            "forced_value",
        ]

    def clean_feature_type(self) -> str:
        new_type: str = self.cleaned_data["feature_type"]
        if self.instance.pk and new_type != self.instance.feature_type and self.instance.entitlements.exists():
            raise forms.ValidationError("The type cannot change while plans have entitlements for this feature.")
        return new_type


@admin.register(Feature)
class FeatureAdmin(ServiceAdmin):
    form = FeatureForm
    list_display = ["key", "name", "feature_type", "event_name", "trait_key", "forced_value", "public_id"]
    list_filter = ["feature_type"]
    search_fields = ["key", "name", "public_id", "event_name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]

    def service_create(self, request: HttpRequest, obj: Feature, form: FeatureForm) -> models.Model:
        return services.feature_create(actor=admin_actor(request), **form.cleaned_data)

    def service_update(self, request: HttpRequest, obj: Feature, form: FeatureForm) -> None:
        services.feature_update(actor=admin_actor(request), feature=obj, **changed_fields(form))

    def service_delete(self, request: HttpRequest, obj: Feature) -> None:
        services.feature_delete(actor=admin_actor(request), feature=obj)


class EntitlementForm(forms.ModelForm):
    """Checks the entitlement's shape against its feature and fills a monthly period's default reset."""

    class Meta:
        model = Entitlement
        fields = ["plan", "feature", *_ENTITLEMENT_VALUE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        feature = data.get("feature")
        if feature is None or "value_type" not in data:
            return data
        shape = entitlement_shape_normalize(
            EntitlementShape(
                feature_type=feature.feature_type,
                value_type=data["value_type"],
                allocation=data.get("allocation"),
                metric_period=data.get("metric_period") or None,
                month_reset=data.get("month_reset") or None,
                trait_key=data.get("trait_key") or "",
                soft_limit=data.get("soft_limit"),
                has_credit_type=data.get("credit_type") is not None,
                consumption_rate=data.get("consumption_rate"),
            )
        )
        data["month_reset"] = shape.month_reset
        for field, errors in entitlement_shape_errors(shape).items():
            for error in errors:
                self.add_error(field if field in self.fields else None, error)
        return data


class EntitlementInline(admin.TabularInline):
    model = Entitlement
    form = EntitlementForm
    fields = ["feature", *_ENTITLEMENT_VALUE_FIELDS]
    extra = 1
    autocomplete_fields = ["feature"]


class PriceInline(admin.TabularInline):
    model = Price
    fields = ["interval", "currency", "amount_minor", "stripe_product_id", "stripe_price_id"]
    readonly_fields = ["stripe_product_id", "stripe_price_id"]
    extra = 0


@admin.register(Plan)
class PlanAdmin(ServiceAdmin):
    list_display = [
        "key",
        "name",
        "plan_type",
        "is_active",
        "is_initial",
        "is_fallback",
        "trial_days",
        "public_id",
    ]
    list_filter = ["plan_type", "is_active"]
    search_fields = ["key", "name", "public_id"]
    fields = [
        "key",
        "name",
        "description",
        "plan_type",
        "is_active",
        "trial_days",
        "is_initial",
        "is_fallback",
    ]
    readonly_fields = ["is_initial", "is_fallback", "public_id", "created_at", "updated_at"]
    inlines = [EntitlementInline, PriceInline]
    actions = ["make_initial", "make_fallback"]

    def service_create(self, request: HttpRequest, obj: Plan, form: Any) -> models.Model:
        values = {name: form.cleaned_data[name] for name in form.cleaned_data}
        return services.plan_create(actor=admin_actor(request), **values)

    def service_update(self, request: HttpRequest, obj: Plan, form: Any) -> None:
        services.plan_update(actor=admin_actor(request), plan=obj, **changed_fields(form))

    def service_delete(self, request: HttpRequest, obj: Plan) -> None:
        services.plan_delete(actor=admin_actor(request), plan=obj)

    def entitlement_notes(self, formset: Any) -> dict[int, str]:
        """The audit note of each changed or deleted entitlement row, by primary key (none here; a subclass may say
        what the change did to companies)."""
        return {}

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        actor, plan = admin_actor(request), form.instance
        if formset.model is Entitlement:
            notes = self.entitlement_notes(formset)
            inline_formset_save(
                formset,
                create=lambda row: services.entitlement_create(
                    actor=actor,
                    plan=plan,
                    feature=row.cleaned_data["feature"],
                    **_values(row.cleaned_data, _ENTITLEMENT_VALUE_FIELDS),
                ),
                update=lambda row: services.entitlement_update(
                    actor=actor,
                    entitlement=row.instance,
                    note=notes.get(row.instance.pk, ""),
                    **changed_fields(row, set(_ENTITLEMENT_VALUE_FIELDS)),
                ),
                delete=lambda row: services.entitlement_delete(
                    actor=actor,
                    entitlement=row,  # type: ignore[arg-type]
                    note=notes.get(row.pk, ""),
                ),
            )
        elif formset.model is Price:
            inline_formset_save(
                formset,
                create=lambda row: services.price_create(
                    actor=actor,
                    plan=plan,
                    **{n: row.cleaned_data[n] for n in ("interval", "currency", "amount_minor")},
                ),
                update=lambda row: services.price_update(
                    actor=actor,
                    price=row.instance,
                    **changed_fields(row, {"interval", "currency", "amount_minor"}),
                ),
                delete=lambda row: services.price_delete(actor=actor, price=row),  # type: ignore[arg-type]
            )

    @admin.action(description="Make the selected base plan the initial plan for new companies", permissions=["change"])
    def make_initial(self, request: HttpRequest, queryset: Any) -> None:
        self._mark(request, queryset, "is_initial", "initial")

    @admin.action(description="Make the selected base plan the fallback plan", permissions=["change"])
    def make_fallback(self, request: HttpRequest, queryset: Any) -> None:
        self._mark(request, queryset, "is_fallback", "fallback")

    def _mark(self, request: HttpRequest, queryset: Any, field: str, role: str) -> None:
        plans = list(queryset)
        if len(plans) != 1 or plans[0].plan_type != PlanType.BASE:
            self.message_user(request, f"Select exactly one base plan to make it the {role} plan.", messages.ERROR)
            return
        role_change: dict[str, Any] = {field: True}
        services.plan_update(actor=admin_actor(request), plan=plans[0], **role_change)
        self.message_user(request, f"'{plans[0].name}' is now the {role} plan.", messages.SUCCESS)


@admin.register(Entitlement)
class EntitlementAdmin(ServiceAdmin):
    form = EntitlementForm
    list_display = [
        "plan",
        "feature",
        "value_type",
        "allocation",
        "metric_period",
        "month_reset",
        "soft_limit",
    ]
    list_filter = ["plan", "feature", "value_type", "metric_period"]
    search_fields = ["plan__key", "feature__key", "public_id"]
    list_select_related = ["plan", "feature"]
    autocomplete_fields = ["plan", "feature"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["plan", "feature"] if obj is not None else []

    def service_create(self, request: HttpRequest, obj: Entitlement, form: Any) -> models.Model:
        values = {name: form.cleaned_data.get(name) for name in _ENTITLEMENT_VALUE_FIELDS}
        return services.entitlement_create(
            actor=admin_actor(request),
            plan=form.cleaned_data["plan"],
            feature=form.cleaned_data["feature"],
            **values,
        )

    def service_update(self, request: HttpRequest, obj: Entitlement, form: Any) -> None:
        changes = changed_fields(form, set(_ENTITLEMENT_VALUE_FIELDS))
        services.entitlement_update(actor=admin_actor(request), entitlement=obj, **changes)

    def service_delete(self, request: HttpRequest, obj: Entitlement) -> None:
        services.entitlement_delete(actor=admin_actor(request), entitlement=obj)


@admin.register(Price)
class PriceAdmin(ServiceAdmin):
    list_display = ["plan", "interval", "currency", "amount_minor", "stripe_price_id", "public_id"]
    list_filter = ["interval", "currency"]
    search_fields = ["plan__key", "public_id", "stripe_price_id"]
    fields = ["plan", "interval", "currency", "amount_minor", "stripe_product_id", "stripe_price_id"]
    autocomplete_fields = ["plan"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["stripe_product_id", "stripe_price_id"]
        return ["plan", *fixed] if obj is not None else fixed

    def service_create(self, request: HttpRequest, obj: Price, form: Any) -> models.Model:
        values = {name: form.cleaned_data[name] for name in ("interval", "currency", "amount_minor")}
        return services.price_create(actor=admin_actor(request), plan=form.cleaned_data["plan"], **values)

    def service_update(self, request: HttpRequest, obj: Price, form: Any) -> None:
        changes = changed_fields(form, {"interval", "currency", "amount_minor"})
        services.price_update(actor=admin_actor(request), price=obj, **changes)

    def service_delete(self, request: HttpRequest, obj: Price) -> None:
        services.price_delete(actor=admin_actor(request), price=obj)


# --- Credits: types (with their prices), bundles, and the credits plans include; saved through ``credit_services``.

_CREDIT_TYPE_FIELDS = [
    "key",
    "name",
    "singular_name",
    "plural_name",
    "burn_order",
    "default_expiry_days",
    "overdraft_limit",
    "low_balance_threshold",
    "low_balance_percent",
]
_CREDIT_BUNDLE_FIELDS = [
    "key",
    "name",
    "credit_type",
    "quantity",
    "price_minor",
    "currency",
    "expiry_days",
    "is_active",
]
_PLAN_CREDIT_GRANT_VALUES = ["quantity", "interval", "rollover_percent"]


class CreditPriceInline(admin.TabularInline):
    model = CreditPrice
    fields = ["currency", "unit_amount_minor"]
    extra = 0


def _credit_prices(formsets: list[Any]) -> dict[str, Any]:
    """The price changes the inline rows ask for, as ``credit_type_update`` merges them: currency → amount, or
    ``None`` to remove a currency (a deleted row, or the old currency of a row whose currency changed)."""
    prices: dict[str, Any] = {}
    for formset in formsets:
        if formset.model is not CreditPrice:
            continue
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for form in formset.deleted_forms:
            if form.instance.pk is not None:
                prices.setdefault(form.initial["currency"], None)
                formset.deleted_objects.append(form.instance)
        for form in formset.forms:
            if form in formset.deleted_forms or not form.has_changed():
                continue
            if form.instance.pk is not None and form.initial.get("currency") != form.cleaned_data["currency"]:
                prices.setdefault(form.initial["currency"], None)
            prices[form.cleaned_data["currency"]] = form.cleaned_data["unit_amount_minor"]
            if form.instance.pk is None:
                formset.new_objects.append(form.instance)
            else:
                formset.changed_objects.append((form.instance, form.changed_data))
    return prices


@admin.register(CreditType)
class CreditTypeAdmin(ServiceAdmin):
    """Credit types and their prices, created or changed in one service call (one audit entry). Never deleted:
    grants and the ledger refer to them."""

    list_display = ["key", "name", "burn_order", "default_expiry_days", "overdraft_limit", "public_id"]
    search_fields = ["key", "name", "public_id"]
    fields = [*_CREDIT_TYPE_FIELDS, "public_id", "created_at", "updated_at"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [CreditPriceInline]

    def save_model(self, request: HttpRequest, obj: CreditType, form: Any, change: bool) -> None:
        """Nothing yet: the type is saved with its prices in ``save_related``, once the inline rows are known."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        prices = _credit_prices(formsets)
        if change:
            changes = changed_fields(form, set(_CREDIT_TYPE_FIELDS))
            if changes or prices:  # saved unchanged: nothing to write, audit or announce
                credit_services.credit_type_update(
                    actor=admin_actor(request), credit_type=form.instance, prices=prices, **changes
                )
        else:
            values = {name: form.cleaned_data[name] for name in _CREDIT_TYPE_FIELDS}
            created = credit_services.credit_type_create(actor=admin_actor(request), prices=prices, **values)
            instance_adopt(form.instance, created)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditPrice)
class CreditPriceAdmin(ReadOnlyAdmin):
    """Prices are edited on their credit type's page."""

    list_display = ["credit_type", "currency", "unit_amount_minor"]
    list_select_related = ["credit_type"]


@admin.register(CreditBundle)
class CreditBundleAdmin(ServiceAdmin):
    """Packs of credits for sale. Withdrawn from sale by unticking "active", never deleted: grants name them."""

    list_display = ["key", "name", "credit_type", "quantity", "price_minor", "currency", "is_active", "public_id"]
    list_filter = ["credit_type", "is_active"]
    list_select_related = ["credit_type"]
    search_fields = ["key", "name", "public_id"]
    fields = [*_CREDIT_BUNDLE_FIELDS, "public_id", "created_at"]
    readonly_fields = ["public_id", "created_at"]

    def service_create(self, request: HttpRequest, obj: CreditBundle, form: Any) -> models.Model:
        values = {name: form.cleaned_data[name] for name in _CREDIT_BUNDLE_FIELDS if name != "credit_type"}
        return credit_services.credit_bundle_create(
            actor=admin_actor(request), credit_type=form.cleaned_data["credit_type"], **values
        )

    def service_update(self, request: HttpRequest, obj: CreditBundle, form: Any) -> None:
        changes = changed_fields(form, set(_CREDIT_BUNDLE_FIELDS))
        credit_services.credit_bundle_update(actor=admin_actor(request), bundle=obj, **changes)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlanCreditGrant)
class PlanCreditGrantAdmin(ServiceAdmin):
    """The credits a plan includes each period. Plan and credit type are fixed once saved."""

    list_display = ["plan", "credit_type", "quantity", "interval", "rollover_percent"]
    list_filter = ["credit_type", "interval"]
    list_select_related = ["plan", "credit_type"]
    search_fields = ["plan__key", "credit_type__key"]
    fields = ["plan", "credit_type", *_PLAN_CREDIT_GRANT_VALUES]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["plan", "credit_type"] if obj is not None else []

    def service_create(self, request: HttpRequest, obj: PlanCreditGrant, form: Any) -> models.Model:
        return credit_services.plan_credit_grant_create(
            actor=admin_actor(request),
            plan=form.cleaned_data["plan"],
            credit_type=form.cleaned_data["credit_type"],
            **_values(form.cleaned_data, _PLAN_CREDIT_GRANT_VALUES),
        )

    def service_update(self, request: HttpRequest, obj: PlanCreditGrant, form: Any) -> None:
        changes = changed_fields(form, set(_PLAN_CREDIT_GRANT_VALUES))
        credit_services.plan_credit_grant_update(actor=admin_actor(request), grant=obj, **changes)

    def service_delete(self, request: HttpRequest, obj: PlanCreditGrant) -> None:
        credit_services.plan_credit_grant_delete(actor=admin_actor(request), grant=obj)

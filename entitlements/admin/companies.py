"""The company screen: name, keys, traits and the plan it is on, all saved through services; and, read-only, what
the company may do and has used (the entitlement board, ``entitlements.admin.board``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.admin.widgets import AdminSplitDateTime, FilteredSelectMultiple
from django.contrib.auth.models import User as StaffUser
from django.db import models, router
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone

from catalog.models import Plan, PlanType
from core.admin import ServiceAdmin, action_confirmation_context, action_confirmed, action_note, admin_actor
from core.admin_job_pages import admin_job_started_message
from core.admin_jobs import admin_job_start
from core.persistence import blocking_describe
from entitlements.admin.board import EntitlementBoardAdmin
from entitlements.admin.bulk_jobs import TRIAL_START_JOB, trial_start_one
from entitlements.admin.company_list import COMPANY_LIST_COLUMNS, CompanyListColumns, company_list_annotate
from entitlements.admin.company_page import CompanyPageAdmin, plan_change_effects
from entitlements.admin.credits import CompanyCreditsAdmin
from entitlements.admin.filters import (
    ActivityFilter,
    FallbackPlanFilter,
    LimitsFilter,
    OverrideExpiringFilter,
    RenewalFilter,
    TrialEndingFilter,
)
from entitlements.admin.grant_exception import GrantExceptionAdmin
from entitlements.admin.inlines import CompanyKeyInline, CompanyTraitInline, formset_merge_patch
from entitlements.admin.usage_history import CompanyUsageHistoryAdmin
from entitlements.models import Company, CompanyKey, Subscription, SubscriptionStatus, TraitDefinition
from entitlements.selectors import subscription_is_paying, subscription_live_get, trial_landing
from entitlements.services.companies import company_create, company_delete, company_update
from entitlements.services.subscriptions import subscription_put
from entitlements.services.trait_definitions import (
    trait_definition_create,
    trait_definition_delete,
    trait_definition_update,
)
from entitlements.services.trials import MAX_TRIAL, subscription_start_trial, subscription_trial_end_change

_SUBSCRIPTION_FIELDS = ("plan", "add_ons", "subscription_status", "trial_ends_at")
_REASONED_CHANGES = {"plan", "add_ons", "subscription_status"}  # moving a trial's end needs no reason


class CompanyForm(forms.ModelForm):
    """The company's own fields plus its live subscription's plan, add-ons, status and trial end."""

    plan = forms.ModelChoiceField(
        queryset=Plan.objects.filter(plan_type=PlanType.BASE),
        required=False,
        help_text="Leave empty on a new company to start it on the initial plan.",
    )
    add_ons = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.filter(plan_type=PlanType.ADD_ON),
        required=False,
        widget=FilteredSelectMultiple("add-ons", is_stacked=False),
    )
    subscription_status = forms.ChoiceField(choices=SubscriptionStatus.choices, initial=SubscriptionStatus.ACTIVE)
    trial_ends_at = forms.SplitDateTimeField(required=False, widget=AdminSplitDateTime)
    change_reason = forms.CharField(
        required=False,
        label="Reason for the plan change",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Needed to change the plan, add-ons or status of a company on a plan; kept in the audit log.",
    )

    class Meta:
        model = Company
        fields = ["name", "has_payment_method"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        live = subscription_live_get(company=self.instance) if self.instance.pk else None
        if live is not None:
            self.initial.update(
                plan=live.plan,
                add_ons=list(live.add_ons.all()),
                subscription_status=live.status,
                trial_ends_at=live.trial_ends_at,
            )
            self.live_plan_id: int | None = live.plan_id
        else:
            self.live_plan_id = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        plan: Plan | None = data.get("plan")
        if plan is not None and not plan.is_active and plan.pk != self.live_plan_id:
            self.add_error("plan", f"Plan '{plan.key}' is not active and cannot be newly assigned.")
        trialing = data.get("subscription_status") == SubscriptionStatus.TRIALING
        trial_ends_at = data.get("trial_ends_at")
        if trialing and not trial_ends_at and (plan is None or not plan.trial_days):
            self.add_error("trial_ends_at", "A trialing subscription needs a trial end.")
        if trialing and trial_ends_at and "trial_ends_at" in self.changed_data:
            now = timezone.now()
            if not now < trial_ends_at <= now + MAX_TRIAL:
                self.add_error("trial_ends_at", f"A trial ends in the future, within {MAX_TRIAL.days} days.")
        if plan is None and self.instance.pk and self.live_plan_id and self.has_subscription_change():
            self.add_error("plan", "Choose the base plan.")
        self.plan_change_effects: list[str] = []
        if self.needs_reason() and plan is not None and not self.errors:
            self.plan_change_effects = self._effects(plan, list(data.get("add_ons") or []), data)
            if not (data.get("change_reason") or "").strip():
                self.add_error("change_reason", "Say why this company's subscription changes (see what changes above).")
        return data

    def needs_reason(self) -> bool:
        """A company on a plan whose plan, add-ons or status change: a confirmation with a reason, not a typo."""
        return bool(self.instance.pk and self.live_plan_id and _REASONED_CHANGES & set(self.changed_data))

    def _effects(self, plan: Plan, add_ons: list[Plan], data: dict[str, Any]) -> list[str]:
        """What the change does, in words: the status, then every feature it changes (the confirmation's list)."""
        effects = []
        if "subscription_status" in self.changed_data:
            labels: dict[str, str] = {str(value): str(label) for value, label in SubscriptionStatus.choices}
            was = str(self.initial.get("subscription_status"))
            effects.append(f"Status: {labels.get(was, was)} → {labels.get(data['subscription_status'])}")
        if "plan" in self.changed_data:
            effects.append(f"Plan: {self.initial['plan']} → {plan}")
        if "add_ons" in self.changed_data:
            names = ", ".join(add_on.name for add_on in add_ons) or "none"
            effects.append(f"Add-ons: {', '.join(p.name for p in self.initial['add_ons']) or 'none'} → {names}")
        if {"plan", "add_ons"} & set(self.changed_data):
            plans = [plan, *sorted(add_ons, key=lambda add_on: add_on.key)]
            effects += plan_change_effects(company=self.instance, plans=plans, now=timezone.now())
        return effects

    def has_subscription_change(self) -> bool:
        return any(name in self.changed_data for name in _SUBSCRIPTION_FIELDS)


def _trial_row(company: Company, plan: Plan) -> dict[str, Any]:
    """One line of the trial confirmation: the company, what it is on now, and where it lands after the trial."""
    live = subscription_live_get(company=company)
    return {
        "company": company,
        "now": f"{live.plan.name} ({live.status})" if live else "no plan",
        "paying": subscription_is_paying(live),
        "landing": trial_landing(company=company, plan=plan),
    }


@admin.register(Company)
class CompanyAdmin(
    CompanyPageAdmin,
    GrantExceptionAdmin,
    CompanyListColumns,
    CompanyCreditsAdmin,
    EntitlementBoardAdmin,
    CompanyUsageHistoryAdmin,
    ServiceAdmin,
):
    """Companies, saved through services. The change page is the company's page: a header, the entitlement board,
    the exceptions in force (granted through the guided flow), the form, the credits (with the forms to grant,
    adjust and refund them) and the history. Changing a company's plan asks for a reason, and so does deleting it
    (superusers only: account executives cannot delete companies)."""

    delete_confirmation_template = "admin/entitlements/company/delete_confirmation.html"

    form = CompanyForm
    list_display = COMPANY_LIST_COLUMNS
    # The limits filter evaluates every company left by the others, so it comes last.
    list_filter = [
        TrialEndingFilter,
        OverrideExpiringFilter,
        RenewalFilter,
        ActivityFilter,
        FallbackPlanFilter,
        LimitsFilter,
    ]
    search_fields = ["name", "public_id", "keys__value"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "has_payment_method", "public_id", "created_at", "updated_at"]}),
        ("Plan", {"fields": [*_SUBSCRIPTION_FIELDS, "change_reason"]}),
    ]
    inlines = [CompanyKeyInline, CompanyTraitInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request).prefetch_related("keys")
        return company_list_annotate(queryset, now=timezone.now())

    def get_actions(self, request: HttpRequest) -> Any:
        """ "Start a trial of <plan>" for each active base plan with trial days. No bulk delete: a company is deleted
        from its own page, with a reason."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if not self.has_change_permission(request):
            return actions
        for plan in Plan.objects.filter(plan_type=PlanType.BASE, is_active=True, trial_days__gt=0).order_by("key"):
            name = f"start_trial_{plan.key}"
            description = f"Start a {plan.trial_days}-day trial of {plan.name}"
            actions[name] = (self._trial_action(plan.pk), name, description)
        return actions

    def _trial_action(self, plan_id: int) -> Any:
        def start_trial(modeladmin: CompanyAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
            """First a confirmation page: what each company is on now, where it lands when the trial ends, and a
            reason (required when a paying customer is among them); the trials start once it is confirmed."""
            plan = Plan.objects.get(pk=plan_id)
            companies = list(queryset.order_by("name"))
            rows = [_trial_row(company, plan) for company in companies]
            paying = [row for row in rows if row["paying"]]
            note = action_note(request)
            if action_confirmed(request) and (note or not paying):
                # Too many for one request: a job runs them, and its page shows how far it got.
                if len(companies) > settings.ADMIN_BULK_INLINE_LIMIT:
                    job = admin_job_start(
                        kind=TRIAL_START_JOB,
                        title=f"Start a {plan.trial_days}-day trial of {plan.name}",
                        item_ids=[company.pk for company in companies],
                        params={"plan_id": plan.pk, "note": note},
                        created_by=request.user if isinstance(request.user, StaffUser) else None,
                        actor=admin_actor(request),
                    )
                    admin_job_started_message(modeladmin, request, job, items="companies")
                    return None
                for company in companies:
                    trial_start_one(actor=admin_actor(request), company=company, plan=plan, note=note)
                modeladmin.message_user(
                    request, f"{len(companies)} compan{'y' if len(companies) == 1 else 'ies'} now trialing {plan.name}."
                )
                return None
            context = {
                **action_confirmation_context(
                    modeladmin,
                    request,
                    title=f"Start a {plan.trial_days}-day trial of {plan.name}?",
                    selected=companies,
                    note_required=bool(paying),
                    note_label="Reason (required)" if paying else "Reason",
                    note_missing_message="Say why paying customers are moved onto a trial.",
                    submit_label=f"Start the trial{'s' if len(rows) != 1 else ''}",
                ),
                "plan": plan,
                "rows": rows,
                "paying": paying,
            }
            return TemplateResponse(request, "admin/entitlements/company/start_trial_confirmation.html", context)

        return start_trial

    # Shown in place of the subscription form fields to people who may only view the company.
    @admin.display(description="Plan")
    def plan(self, company: Company) -> str:
        live = subscription_live_get(company=company)
        return str(live.plan) if live else "—"

    @admin.display(description="Add-ons")
    def add_ons(self, company: Company) -> str:
        live = subscription_live_get(company=company)
        return ", ".join(plan.name for plan in live.add_ons.all()) if live else "—"

    @admin.display(description="Subscription status")
    def subscription_status(self, company: Company) -> str:
        live = subscription_live_get(company=company)
        return live.get_status_display() if live else "—"

    @admin.display(description="Trial ends at")
    def trial_ends_at(self, company: Company) -> Any:
        live = subscription_live_get(company=company)
        return live.trial_ends_at if live and live.trial_ends_at else "—"

    @admin.display(description="Reason for the plan change")
    def change_reason(self, company: Company) -> str:
        return "—"  # a field of the form only: nothing is stored on the company

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """No reason to give on a new company (it starts on the plan chosen, or the initial one)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return [
                (name, {**options, "fields": [f for f in options["fields"] if f != "change_reason"]})
                for name, options in fieldsets
            ]
        return fieldsets

    @admin.display(description="Keys")
    def keys_summary(self, company: Company) -> str:
        return ", ".join(f"{key.name}={key.value}" for key in company.keys.all())

    def service_create(self, request: HttpRequest, obj: Company, form: CompanyForm) -> models.Model:
        company = company_create(actor=admin_actor(request), name=form.cleaned_data["name"], now=timezone.now())
        if form.cleaned_data.get("plan") is not None:
            self._subscription_put(request, company, form)
        return company

    def service_update(self, request: HttpRequest, obj: Company, form: CompanyForm) -> None:
        if {"name", "has_payment_method"} & set(form.changed_data):
            company_update(
                actor=admin_actor(request),
                company=obj,
                name=form.cleaned_data["name"],
                has_payment_method=form.cleaned_data["has_payment_method"],
            )
        if form.has_subscription_change() and form.cleaned_data.get("plan") is not None:
            self._subscription_change(request, obj, form)

    def _subscription_change(self, request: HttpRequest, company: Company, form: CompanyForm) -> None:
        """Starting or moving a trial goes through the trial services (and is audited as such); anything else
        replaces the subscription. The reason given goes with it into the audit log."""
        data, was = form.cleaned_data, form.initial.get("subscription_status")
        note = (data.get("change_reason") or "").strip()
        trialing = data["subscription_status"] == SubscriptionStatus.TRIALING
        changed = {name for name in form.changed_data if name in _SUBSCRIPTION_FIELDS}
        if (
            trialing
            and was != SubscriptionStatus.TRIALING
            and changed <= {"subscription_status", "plan", "trial_ends_at"}
        ):
            ends_at = data.get("trial_ends_at")
            subscription_start_trial(
                actor=admin_actor(request),
                company=company,
                plan=data["plan"],
                ends_at=ends_at,
                days=None if ends_at else (data["plan"].trial_days or None),
                now=timezone.now(),
                note=note,
            )
        elif trialing and was == SubscriptionStatus.TRIALING and changed == {"trial_ends_at"}:
            subscription_trial_end_change(
                actor=admin_actor(request), company=company, ends_at=data["trial_ends_at"], now=timezone.now()
            )
        else:
            self._subscription_put(request, company, form, note=note)

    def service_delete(self, request: HttpRequest, obj: Company) -> None:
        company_delete(actor=admin_actor(request), company=obj, note=action_note(request))

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """What deleting goes with, for the confirmation page, counted by kind. The usage, subscriptions, keys… of a
        company go with it (the service deletes them in one transaction), so the read-only admins of those rows do not
        make it a question of permissions; what protects it (its credit ledger, which is kept) is said by kind."""
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:  # in the words the service refuses with (``blocking_describe``), not thousands of links
            collector = NestedObjects(using=router.db_for_write(Company))
            collector.collect(objs)
            protected = [blocking_describe(collector.protected)]
        return deleted, model_count, set(), protected

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        """Django's confirmation page, plus a required reason (kept in the audit log): a POST without one shows the
        page again, saying so, and deletes nothing."""
        context = {**(extra_context or {}), "note": action_note(request)}
        if request.method == "POST" and not action_note(request):
            context["note_missing"] = "post" in request.POST
            request.POST = QueryDict()  # Django deletes on any non-empty POST
        return super().delete_view(request, object_id, context)

    def _subscription_put(self, request: HttpRequest, company: Company, form: CompanyForm, note: str = "") -> None:
        data = form.cleaned_data
        subscription_put(
            actor=admin_actor(request),
            company=company,
            plan=data["plan"],
            add_ons=list(data.get("add_ons") or []),
            status=data["subscription_status"],
            trial_ends_at=data.get("trial_ends_at"),
            now=timezone.now(),
            note=note,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        patch = formset_merge_patch(formset)
        if not patch:
            return
        if formset.model is CompanyKey:
            company_update(actor=admin_actor(request), company=form.instance, keys=patch)
        else:
            company_update(actor=admin_actor(request), company=form.instance, traits=patch)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Subscription history, read-only: plans are changed on the company page (through the service)."""

    list_display = [
        "company",
        "plan",
        "status",
        "trial_ends_at",
        "current_period_start",
        "current_period_end",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["company__name", "company__public_id", "public_id"]
    list_select_related = ["company", "plan"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Subscription._meta.fields] + ["add_on_keys"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_readonly_fields(request, obj)

    @admin.display(description="Add-ons")
    def add_on_keys(self, subscription: Subscription) -> str:
        return ", ".join(plan.key for plan in subscription.add_ons.all()) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TraitDefinition)
class TraitDefinitionAdmin(ServiceAdmin):
    list_display = ["key", "trait_type", "entity_type", "public_id"]
    list_filter = ["entity_type", "trait_type"]
    search_fields = ["key", "public_id"]
    fields = ["key", "trait_type", "entity_type"]

    def service_create(self, request: HttpRequest, obj: TraitDefinition, form: Any) -> models.Model:
        return trait_definition_create(actor=admin_actor(request), **form.cleaned_data)

    def service_update(self, request: HttpRequest, obj: TraitDefinition, form: Any) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        trait_definition_update(actor=admin_actor(request), definition=obj, **changes)

    def service_delete(self, request: HttpRequest, obj: TraitDefinition) -> None:
        trait_definition_delete(actor=admin_actor(request), definition=obj)

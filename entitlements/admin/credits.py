"""Credits on the company page: balances per credit type with the current grants and the latest ledger entries, and
the forms to grant (credits or a bundle), adjust and refund.

The forms post to ``<company pk>/credits/`` (``CompanyCreditsAdmin.credits_view``), which needs the change
permission on companies; every action calls a credit service (one audit entry each) and requires a note. A refused
form comes back on that page with its errors (status 400); a done one returns to the company page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from catalog.models import CreditBundle, CreditType
from core.admin import admin_actor
from core.errors import DomainError
from credits.amounts import credits_text
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry, GrantReason
from credits.selectors import credit_company_summary
from credits.services import credit_adjust_down, credit_grant, credit_low_balance_check
from entitlements.models import Company

LEDGER_LENGTH = 20
GRANTS_LENGTH = 50
_MIN_CREDITS = Decimal("0.000001")


def _credit_types() -> QuerySet[CreditType]:
    return CreditType.objects.order_by("key")


class _NoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why — kept on the ledger and in the audit log.",
    )


class _BundleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        lasts = f", lasts {obj.expiry_days} days" if obj.expiry_days else ""
        return f"{obj.name}: {credits_text(obj.quantity)} {obj.credit_type.name}{lasts}"


class CreditGrantForm(_NoteForm):
    """Credits of a type (with a reason and an optional expiry), or a bundle (its credits and expiry, as a purchase)."""

    credit_type = forms.ModelChoiceField(queryset=_credit_types(), required=False)
    quantity = forms.DecimalField(max_digits=20, decimal_places=6, min_value=_MIN_CREDITS, required=False)
    reason = forms.ChoiceField(
        choices=[
            (reason.value, reason.label)
            for reason in (GrantReason.PROMOTIONAL, GrantReason.MANUAL, GrantReason.PURCHASE)
        ],
        initial=GrantReason.PROMOTIONAL,
        required=False,
    )
    expires_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text="UTC. Empty: the credit type's default expiry."
    )
    bundle = _BundleChoiceField(
        queryset=CreditBundle.objects.filter(is_active=True).select_related("credit_type"),
        required=False,
        help_text="Instead of a type and quantity: the bundle's credits with its expiry, granted as a purchase.",
    )
    field_order = ["credit_type", "quantity", "reason", "expires_at", "bundle", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("bundle") is not None:
            chosen = [name for name in ("credit_type", "quantity", "expires_at") if data.get(name) is not None]
            for name in chosen:
                self.add_error(name, "Leave empty when granting a bundle: the bundle sets it.")
        else:
            for name in ("credit_type", "quantity", "reason"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Required, unless you grant a bundle.")
        return data

    def grant_arguments(self, now: dt.datetime) -> dict[str, Any]:
        """The ``credit_grant`` arguments this form asks for (a valid form)."""
        data = self.cleaned_data
        bundle: CreditBundle | None = data.get("bundle")
        if bundle is None:
            return {
                "credit_type": data["credit_type"],
                "quantity": data["quantity"],
                "reason": data["reason"],
                "expires_at": data.get("expires_at"),
            }
        expires_at = now + dt.timedelta(days=bundle.expiry_days) if bundle.expiry_days else None
        return {
            "credit_type": bundle.credit_type,
            "quantity": bundle.quantity,
            "reason": GrantReason.PURCHASE.value,
            "expires_at": expires_at,  # ``None``: the credit type's default
            "source": bundle.public_id,
        }


class CreditAdjustForm(_NoteForm):
    """A correction: a positive quantity adds credits (a manual grant), a negative one takes them back."""

    credit_type = forms.ModelChoiceField(queryset=_credit_types())
    quantity = forms.DecimalField(
        max_digits=20, decimal_places=6, help_text="Positive adds credits; negative takes them back."
    )
    field_order = ["credit_type", "quantity", "note"]

    def clean_quantity(self) -> Decimal:
        quantity: Decimal = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("Adjust by a number other than zero.")
        return quantity


class CreditRefundForm(_NoteForm):
    """Credits given back, e.g. for usage that failed on the vendor's side."""

    credit_type = forms.ModelChoiceField(queryset=_credit_types())
    quantity = forms.DecimalField(max_digits=20, decimal_places=6, min_value=_MIN_CREDITS)
    field_order = ["credit_type", "quantity", "note"]


CREDIT_FORMS: dict[str, type[forms.Form]] = {
    "grant": CreditGrantForm,
    "adjust": CreditAdjustForm,
    "refund": CreditRefundForm,
}
_FORM_TITLES = {"grant": "Grant credits", "adjust": "Adjust the balance", "refund": "Refund credits"}


@dataclass(frozen=True, slots=True)
class CreditFormBlock:
    """One of the credit forms, ready to print: its action, title, button and (bound or blank) form."""

    action: str
    title: str
    form: forms.Form


def credit_forms(bound: forms.Form | None = None, action: str = "") -> list[CreditFormBlock]:
    """The three credit forms, each with its action as prefix; ``bound`` replaces the blank one of ``action``."""
    return [
        CreditFormBlock(
            action=name,
            title=_FORM_TITLES[name],
            form=bound if bound is not None and name == action else form_class(prefix=name),
        )
        for name, form_class in CREDIT_FORMS.items()
    ]


@dataclass(frozen=True, slots=True)
class CreditGrantRow:
    grant: CreditGrant
    quantity: str
    remaining: str


@dataclass(frozen=True, slots=True)
class CreditTypeSection:
    """One credit type the company holds: its effective balance, its low-balance state and its current grants."""

    credit_type: CreditType
    balance: str
    overdraft_used: str
    threshold: str
    is_low: bool
    grants: list[CreditGrantRow]


@dataclass(frozen=True, slots=True)
class CreditLedgerRow:
    entry: CreditLedgerEntry
    quantity: str
    balance_after: str
    unfunded: str


@dataclass(frozen=True, slots=True)
class CompanyCredits:
    """The credits section of one company's page."""

    sections: list[CreditTypeSection]
    ledger: list[CreditLedgerRow]
    ledger_url: str
    grants_url: str
    now: dt.datetime


def company_credits(*, company: Company, now: dt.datetime) -> CompanyCredits:
    """The company's credits as its page shows them (``credit_company_summary`` in words; five queries)."""
    summary = credit_company_summary(
        company_id=company.pk, now=now, grants_limit=GRANTS_LENGTH, ledger_limit=LEDGER_LENGTH
    )
    sections = [
        CreditTypeSection(
            credit_type=holding.credit_type,
            balance=credits_text(holding.balance),
            overdraft_used=credits_text(holding.overdraft_used),
            threshold="—" if holding.threshold is None else credits_text(holding.threshold),
            is_low=holding.is_low,
            grants=[
                CreditGrantRow(grant=g, quantity=credits_text(g.quantity), remaining=credits_text(g.remaining))
                for g in holding.grants
            ],
        )
        for holding in summary.holdings
    ]
    ledger = [
        CreditLedgerRow(
            entry=entry,
            quantity=credits_text(entry.quantity),
            balance_after=credits_text(entry.balance_after),
            unfunded=credits_text(entry.unfunded) if entry.unfunded else "",
        )
        for entry in summary.ledger
    ]
    by_company = f"?company__id__exact={company.pk}"
    return CompanyCredits(
        sections=sections,
        ledger=ledger,
        ledger_url=reverse("admin:credits_creditledgerentry_changelist") + by_company,
        grants_url=reverse("admin:credits_creditgrant_changelist") + by_company,
        now=now,
    )


def _form_errors_add(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form: next to the fields it names, above the form otherwise."""
    if not error.fields:
        form.add_error(None, error.message)
    for name, field_messages in error.fields.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)


class CompanyCreditsAdmin(admin.ModelAdmin):
    """The company admin's credits part: the section at the bottom of the change page and the credits action view
    at ``<pk>/credits/`` (change permission on companies required to see the forms or post them)."""

    def get_urls(self) -> list[URLPattern]:
        credits_path = path(
            "<int:company_id>/credits/",
            self.admin_site.admin_view(self.credits_view),
            name="entitlements_company_credits",
        )
        return [credits_path, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if change and obj is not None and obj.pk is not None:
            context["company_credits"] = company_credits(company=obj, now=timezone.now())
            if self.has_change_permission(request, obj):
                blocks = credit_forms()
                context["company_credit_forms"] = blocks
                context["company_credits_url"] = reverse("admin:entitlements_company_credits", args=[obj.pk])
                for block in blocks:
                    context["media"] = context["media"] + block.form.media
        return super().render_change_form(request, context, add, change, form_url, obj)

    def credits_view(self, request: HttpRequest, company_id: int) -> HttpResponse:
        """Grant, adjust or refund credits (POST with ``action`` = grant, adjust or refund); GET shows the forms."""
        company = Company.objects.filter(pk=company_id).first()
        if company is None:
            raise Http404("No such company.")
        if not self.has_change_permission(request, company):
            raise PermissionDenied
        action = request.POST.get("action", "") if request.method == "POST" else ""
        bound: forms.Form | None = None
        status = 200
        if request.method == "POST":
            status = 400
            if action in CREDIT_FORMS:
                bound = CREDIT_FORMS[action](request.POST, prefix=action)
                if bound.is_valid():
                    try:
                        message = self._credits_act(request, company, action, bound)
                    except DomainError as error:
                        _form_errors_add(bound, error)
                    else:
                        self.message_user(request, message, messages.SUCCESS)
                        change_url = reverse("admin:entitlements_company_change", args=[company.pk])
                        return HttpResponseRedirect(change_url + "#company-credits")
            else:
                self.message_user(request, "Choose grant, adjust or refund.", messages.ERROR)
        blocks = credit_forms(bound, action)
        media = self.media
        for block in blocks:
            media = media + block.form.media
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credits of {company.name}",
            "subtitle": None,
            "opts": self.model._meta,
            "company": company,
            "company_url": reverse("admin:entitlements_company_change", args=[company.pk]),
            "company_credits": company_credits(company=company, now=timezone.now()),
            "company_credit_forms": blocks,
            "company_credits_url": request.path,
            "media": media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/credits/company_credits.html", context, status=status)

    def _credits_act(self, request: HttpRequest, company: Company, action: str, form: forms.Form) -> str:
        """Run the action the valid ``form`` asks for through the credit services; the message to show."""
        actor, now, data = admin_actor(request), timezone.now(), form.cleaned_data
        note: str = data["note"]
        if action == "adjust" and data["quantity"] < 0:
            credit_type: CreditType = data["credit_type"]
            taken = -data["quantity"]
            credit_adjust_down(
                actor=actor, company_id=company.pk, credit_type=credit_type, quantity=taken, now=now, note=note
            )
            return f"Took {credits_text(taken)} {credit_type.name} back from {company.name}."
        if action == "grant":
            assert isinstance(form, CreditGrantForm)
            arguments = form.grant_arguments(now)
        else:
            reason = GrantReason.MANUAL if action == "adjust" else GrantReason.REFUND
            arguments = {"credit_type": data["credit_type"], "quantity": data["quantity"], "reason": reason.value}
        grant = credit_grant(actor=actor, company_id=company.pk, now=now, note=note, **arguments)
        # A grant can lift the balance back above the low-balance threshold.
        account_id = CreditAccount.objects.values_list("pk", flat=True).get(
            company_id=company.pk, credit_type=grant.credit_type
        )
        credit_low_balance_check(account_id=account_id, now=now, actor=actor)
        verb = "Refunded" if action == "refund" else "Granted"
        credit_type = grant.credit_type
        return f"{verb} {credits_text(grant.quantity)} {credit_type.name} to {company.name}."

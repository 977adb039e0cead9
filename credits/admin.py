"""The credit ledger in the admin, read-only: accounts, grants and entries are written only by the credit services
(the company page grants, adjusts and refunds). The accounts list links to the credit overview at
``credits/creditaccount/overview/`` (``credits.overview``), open to whoever may view accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from core.admin import CsvExportAdmin, ReadOnlyAdmin
from credits.amounts import credits_text
from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry
from credits.overview import credit_overview


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["company", "credit_type", "balance", "overdraft_used", "granted_total", "is_low", "updated_at"]
    list_filter = ["credit_type", "is_low"]
    search_fields = ["company__name", "company__public_id"]
    list_select_related = ["company", "credit_type"]

    def get_urls(self) -> list[URLPattern]:
        overview = path(
            "overview/", self.admin_site.admin_view(self.overview_view), name="credits_creditaccount_overview"
        )
        return [overview, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "credit_overview_url": reverse("admin:credits_creditaccount_overview"),
        }
        return super().changelist_view(request, extra_context)

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Outstanding, burned this month, expiring soon and low accounts per credit type (``credits.overview``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        overview = credit_overview(now=timezone.now())
        rows = [
            {
                "credit_type": row.credit_type,
                "outstanding": credits_text(row.outstanding),
                "burned_this_month": credits_text(row.burned_this_month),
                "expiring_soon": credits_text(row.expiring_soon),
                "low_accounts": [
                    {
                        "account": account,
                        "balance": credits_text(account.balance),
                        "threshold": "—" if account.threshold is None else credits_text(account.threshold),
                    }
                    for account in row.low_accounts
                ],
            }
            for row in overview.rows
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Credit overview",
            "subtitle": None,
            "opts": self.model._meta,
            "overview": overview,
            "rows": rows,
            "has_low_accounts": any(row.low_accounts for row in overview.rows),
            "accounts_url": reverse("admin:credits_creditaccount_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/credits/overview.html", context)


@admin.register(CreditGrant)
class CreditGrantAdmin(ReadOnlyAdmin):
    list_display = ["company", "credit_type", "quantity", "remaining", "reason", "valid_from", "expires_at"]
    list_filter = ["credit_type", "reason"]
    search_fields = ["company__name", "company__public_id", "public_id", "source"]
    list_select_related = ["company", "credit_type"]


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(CsvExportAdmin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "company",
        "credit_type",
        "kind",
        "quantity",
        "unfunded",
        "balance_after",
        "actor_label",
    ]
    list_filter = ["credit_type", "kind"]
    search_fields = ["company__name", "company__public_id", "note"]
    list_select_related = ["company", "credit_type"]
    date_hierarchy = "created_at"
    csv_name = "credit-ledger"
    csv_columns = (
        ("when (UTC)", lambda e: e.created_at.isoformat()),
        ("company", lambda e: e.company.name),
        ("company id", lambda e: e.company.public_id),
        ("credit type", lambda e: e.credit_type.key),
        ("kind", lambda e: e.kind),
        ("credits", lambda e: credits_text(e.quantity)),
        ("not funded", lambda e: credits_text(e.unfunded) if e.unfunded else ""),
        ("balance after", lambda e: credits_text(e.balance_after)),
        ("usage event", lambda e: e.usage_event_id),
        ("by", lambda e: e.actor_label or e.actor_kind),
        ("note", lambda e: e.note),
    )

"""The credit ledger in the admin, read-only: accounts, grants and entries are written only by the credit services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from credits.models import CreditAccount, CreditGrant, CreditLedgerEntry


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(_ReadOnly):
    list_display = ["company", "credit_type", "balance", "overdraft_used", "granted_total", "is_low", "updated_at"]
    list_filter = ["credit_type", "is_low"]
    search_fields = ["company__name", "company__public_id"]
    list_select_related = ["company", "credit_type"]


@admin.register(CreditGrant)
class CreditGrantAdmin(_ReadOnly):
    list_display = ["company", "credit_type", "quantity", "remaining", "reason", "valid_from", "expires_at"]
    list_filter = ["credit_type", "reason"]
    search_fields = ["company__name", "company__public_id", "public_id", "source"]
    list_select_related = ["company", "credit_type"]


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(_ReadOnly):
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

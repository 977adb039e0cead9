from django.apps import AppConfig


class BillingSyncConfig(AppConfig):
    name = "billing_sync"
    verbose_name = "Billing sync (Stripe)"

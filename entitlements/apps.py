from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"
    verbose_name = "Companies and entitlements"

    def ready(self) -> None:
        """Subscribe the cache and the datastream to domain events: stale documents first, so that pushes are
        rendered from the new version tokens (subscribers are called in the order they subscribed), and the closing of
        revoked keys' connections; and tell the audit log how to find companies by name or key."""
        from django.urls import reverse

        from core.audit import AuditCompanyDirectory, audit_company_directory_set
        from core.events import events_subscribe, events_subscribe_at_emit
        from entitlements.datastream.broadcast import (
            DELETION_EVENTS,
            PUSH_EVENTS,
            REVOCATION_EVENTS,
            close_revoked_keys,
            push_deleted_at_emit,
            push_for_events,
        )
        from entitlements.documents.staleness import STALENESS_EVENTS, documents_stale
        from entitlements.selectors import company_public_ids_matching

        audit_company_directory_set(
            AuditCompanyDirectory(
                search=company_public_ids_matching,
                page_url=lambda public_id: reverse("admin:entitlements_company_changelist") + f"?q={public_id}",
            )
        )
        events_subscribe_at_emit(documents_stale, types=STALENESS_EVENTS)
        events_subscribe_at_emit(push_deleted_at_emit, types=DELETION_EVENTS)
        events_subscribe(documents_stale, types=STALENESS_EVENTS)
        events_subscribe(push_for_events, types=PUSH_EVENTS)
        events_subscribe(close_revoked_keys, types=REVOCATION_EVENTS)

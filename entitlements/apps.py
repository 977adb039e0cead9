from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"
    verbose_name = "Companies and entitlements"

    def ready(self) -> None:
        """Subscribe the cache and the datastream to domain events: stale documents first, so that pushes are
        rendered from the new version tokens (subscribers are called in the order they subscribed)."""
        from core.events import events_subscribe, events_subscribe_at_emit
        from entitlements.datastream.broadcast import (
            DELETION_EVENTS,
            PUSH_EVENTS,
            push_deleted_at_emit,
            push_for_events,
        )
        from entitlements.documents.staleness import STALENESS_EVENTS, documents_stale

        events_subscribe_at_emit(documents_stale, types=STALENESS_EVENTS)
        events_subscribe_at_emit(push_deleted_at_emit, types=DELETION_EVENTS)
        events_subscribe(documents_stale, types=STALENESS_EVENTS)
        events_subscribe(push_for_events, types=PUSH_EVENTS)

from __future__ import annotations

from collections.abc import Sequence

from django.apps import AppConfig

from core.events import DomainEvent

RECEIVED: list[list[str]] = []
"""One entry per delivery: the names of the events delivered together."""


def _record(events: Sequence[DomainEvent]) -> None:
    RECEIVED.append([type(event).__name__ for event in events])


class EventAppConfig(AppConfig):
    name = "tests.events.event_app"
    label = "event_app"

    def ready(self) -> None:
        from core.events import events_subscribe
        from entitlements.events import OverrideEvent

        events_subscribe(_record, types=[OverrideEvent])

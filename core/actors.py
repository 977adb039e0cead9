"""Who causes a write: every service takes an ``actor`` so the change can be attributed."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActorKind(enum.StrEnum):
    ADMIN = "admin"
    API_KEY = "api_key"
    PORTAL = "portal"
    STRIPE = "stripe"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """An immutable description of the door a write came through and who stood at it."""

    kind: ActorKind
    identifier: str = ""
    label: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.label or self.identifier or '-'}"


SYSTEM_ACTOR = Actor(kind=ActorKind.SYSTEM, label="system")

"""What a seeding run reports, and the actor and currency every part of the demo writes with."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.actors import Actor, ActorKind

DEMO_ACTOR = Actor(kind=ActorKind.SYSTEM, label="seed_demo")
CURRENCY = "usd"
_LISTED_AT_MOST = 8  # progress lines name what was created up to this many objects of a kind


@dataclass(slots=True)
class DemoSummary:
    """What a seeding run created and what it found already present, per kind of object (in seeding order)."""

    created: dict[str, list[str]] = field(default_factory=dict)
    present: dict[str, list[str]] = field(default_factory=dict)

    def record(self, kind: str, label: str, *, created: bool) -> None:
        """Note one object of ``kind`` as created by this run or as found."""
        self.created.setdefault(kind, [])
        self.present.setdefault(kind, [])
        (self.created if created else self.present)[kind].append(label)

    @property
    def created_count(self) -> int:
        """How many objects this run created (0 on a repeated run)."""
        return sum(len(labels) for labels in self.created.values())

    def lines(self) -> list[str]:
        """One short line per kind: ``Plans: 1 created (pro), 3 already present`` (long lists: a count)."""
        result = []
        for kind, created in self.created.items():
            shown = f" ({', '.join(created)})" if len(created) <= _LISTED_AT_MOST else ""
            parts = [f"{len(created)} created{shown}"] if created else []
            if self.present[kind]:
                parts.append(f"{len(self.present[kind])} already present")
            result.append(f"{kind}: {', '.join(parts)}")
        return result

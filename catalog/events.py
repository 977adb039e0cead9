"""The domain event of the catalog (see ``core.events`` for the delivery promise): what the catalog sells changed,
so every company's documents and every connected SDK's flags must be read afresh."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import DomainEvent


@dataclass(frozen=True, slots=True)
class CatalogObject:
    """One catalog object that changed: its kind (``feature``, ``plan``, ``entitlement``, ``price``, ``credit_type``,
    ``credit_bundle``, ``plan_credit_grant``, ``trait_definition``), its public id and ``created``/``updated``/
    ``deleted``."""

    kind: str
    public_id: str
    change: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogChanged(DomainEvent):
    """Catalog objects changed (``objects``, in the order changed)."""

    objects: tuple[CatalogObject, ...]

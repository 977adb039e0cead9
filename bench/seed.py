"""A benchmark catalog: 30 features (boolean, monthly-metered, trait-metered) on one plan, one company, one key.

Run inside a Django process (``harness.django_run``); prints a JSON line with what the benchmarks need.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from catalog import services as catalog
from core.actors import SYSTEM_ACTOR
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create

FEATURES = 30


def seed() -> dict[str, str]:
    """Create the catalog and return the API secret, the company key and a metered flag key."""
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="bench", name="Bench")
    for index in range(FEATURES):
        kind = ("boolean", "event", "trait")[index % 3]
        extras: dict[str, dict[str, str]] = {
            "event": {"event_name": f"event-{index}"},
            "trait": {"trait_key": f"trait_{index}"},
        }
        extra = extras.get(kind, {})
        feature = catalog.feature_create(
            actor=SYSTEM_ACTOR, key=f"feature-{index}", name=f"Feature {index}", feature_type=kind, **extra
        )
        shapes: dict[str, dict[str, Any]] = {
            "boolean": {"value_type": "boolean"},
            "event": {"value_type": "numeric", "allocation": 1_000_000_000, "metric_period": "current_month"},
            "trait": {"value_type": "numeric", "allocation": 50},
        }
        catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=plan, feature=feature, **shapes[kind])
    company_create(
        actor=SYSTEM_ACTOR, name="Bench Inc", keys={"external_id": "bench"},
        traits={f"trait_{i}": 3 for i in range(2, FEATURES, 3)}, now=timezone.now(),
    )  # fmt: skip
    secret = api_key_create(actor=SYSTEM_ACTOR, name="bench").secret
    return {"secret": secret, "company_key": "bench", "metered_flag": "feature-1", "event": "event-1"}


if __name__ == "__main__":
    print(json.dumps(seed()))

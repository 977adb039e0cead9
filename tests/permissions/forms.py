"""POST bodies of the admin forms the permission tests send, built like a browser would from the rendered page."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Model

from catalog.models import Feature, Plan
from entitlements.models import Company, SubscriptionStatus


def inline(prefix: str, rows: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    """An inline formset's management form and one entry per row."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def feature_form(feature: Feature | None = None, **changes: Any) -> dict[str, Any]:
    """The feature form for ``feature`` (or a new boolean feature), with ``changes`` applied."""
    data = {
        "key": feature.key if feature else "exports",
        "name": feature.name if feature else "Exports",
        "description": feature.description if feature else "",
        "feature_type": feature.feature_type if feature else "boolean",
        "event_name": feature.event_name if feature else "",
        "trait_key": feature.trait_key if feature else "",
        "unit_singular": "",
        "unit_plural": "",
        "forced_value": "unknown",
    }
    return {**data, **changes}


def plan_form(plan: Plan, **changes: Any) -> dict[str, Any]:
    """The change form of a plan without entitlements or prices, with ``changes`` applied."""
    data = {
        "key": plan.key,
        "name": plan.name,
        "description": plan.description,
        "plan_type": plan.plan_type,
        "is_active": "on" if plan.is_active else "",
        "trial_days": str(plan.trial_days),
        **inline("entitlements", []),
        **inline("prices", []),
    }
    return {**data, **changes}


def company_form(company: Company | None = None, **changes: Any) -> dict[str, Any]:
    """The company form with its plan, keys and traits as they are (or a new company), with ``changes`` applied."""
    keys = list(company.keys.all()) if company else []
    traits = list(company.traits.all()) if company else []
    live = company.subscriptions.exclude(status=SubscriptionStatus.CANCELED).first() if company else None
    data = {
        "name": company.name if company else "Initech",
        "plan": live.plan_id if live else "",
        "add_ons": [plan.pk for plan in live.add_ons.all()] if live else [],
        "subscription_status": live.status if live else SubscriptionStatus.ACTIVE,
        "trial_ends_at_0": "",
        "trial_ends_at_1": "",
        **inline(
            "keys",
            [{"id": key.pk, "company": key.company_id, "name": key.name, "value": key.value} for key in keys],
            initial=len(keys),
        ),
        **inline(
            "traits",
            [
                {"id": trait.pk, "company": trait.company_id, "definition": trait.definition_id, "value": trait.value}
                for trait in traits
            ],
            initial=len(traits),
        ),
    }
    return {**data, **changes}


def action_form(action: str, *objects: Model) -> dict[str, Any]:
    """A changelist action run on ``objects``, as the action bar posts it."""
    return {"action": action, "index": "0", ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects]}

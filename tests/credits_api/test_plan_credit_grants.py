"""The credits plans include (``catalog.credit_services.plan_credit_grant_*``): no API door yet, so the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.credit_services import (
    credit_type_create,
    plan_credit_grant_create,
    plan_credit_grant_delete,
    plan_credit_grant_update,
)
from catalog.models import Plan, PlanCreditGrant
from catalog.services import plan_create
from core.actors import SYSTEM_ACTOR
from core.errors import ValidationFailed
from core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_plan_credit_grant__create_update_delete__one_audit_entry_each() -> None:
    # Given a plan and a credit type
    plan = plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")

    # When the plan includes 1000 AI credits a month, then 1500 with a quarter rolling over, then none
    grant = plan_credit_grant_create(actor=SYSTEM_ACTOR, plan=plan, credit_type=ai, quantity=Decimal(1000))
    plan_credit_grant_update(actor=SYSTEM_ACTOR, grant=grant, quantity=Decimal("1500.0"), rollover_percent=25)
    stored = PlanCreditGrant.objects.get()
    assert (stored.quantity, stored.interval, stored.rollover_percent) == (Decimal(1500), "month", 25)
    plan_credit_grant_delete(actor=SYSTEM_ACTOR, grant=stored)

    # Then it is gone, the plan stays, and each step left its audit entry
    assert not PlanCreditGrant.objects.exists()
    assert Plan.objects.filter(key="pro").exists()
    entries = list(AuditEntry.objects.filter(action__startswith="plan_credit_grant").order_by("id"))
    assert [entry.action for entry in entries] == [
        "plan_credit_grant.created",
        "plan_credit_grant.updated",
        "plan_credit_grant.deleted",
    ]
    assert entries[0].after == {
        "plan": plan.public_id,
        "credit_type": ai.public_id,
        "quantity": "1000",
        "interval": "month",
        "rollover_percent": 0,
    }
    assert (entries[1].before, entries[1].after) == (
        {"quantity": "1000", "rollover_percent": 0},
        {"quantity": "1500", "rollover_percent": 25},
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal(-1)}, "quantity"),
        ({"quantity": Decimal(1), "rollover_percent": 101}, "rollover_percent"),
        ({"quantity": Decimal(1), "interval": "fortnight"}, "interval"),
        ({"quantity": Decimal(1), "colour": "red"}, "colour"),
    ],
)
def test_plan_credit_grant_create__bad_input__names_the_field_nothing_written(
    fields: dict[str, Any], field: str
) -> None:
    plan = plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")

    with pytest.raises(ValidationFailed) as error:
        plan_credit_grant_create(actor=SYSTEM_ACTOR, plan=plan, credit_type=ai, **fields)

    assert field in error.value.fields
    assert not PlanCreditGrant.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="plan_credit_grant").exists()


def test_plan_credit_grant_create__second_for_same_type__refused_on_credit_type() -> None:
    plan = plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    plan_credit_grant_create(actor=SYSTEM_ACTOR, plan=plan, credit_type=ai, quantity=Decimal(10))

    with pytest.raises(ValidationFailed) as error:
        plan_credit_grant_create(actor=SYSTEM_ACTOR, plan=plan, credit_type=ai, quantity=Decimal(20))

    assert "credit_type" in error.value.fields
    assert PlanCreditGrant.objects.count() == 1

"""The management API against its own OpenAPI schema (schemathesis, generated requests in-process through the WSGI
app, on the test database): no server error, no status the schema does not document, no response that breaks its
schema. Bounded: a few examples per operation, on a catalog and a company so that lookups can succeed too."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.services.api_keys import api_key_create
from entitlements.services.companies import company_create

EXAMPLES_PER_OPERATION = 12
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def _in_test_transaction() -> Iterator[None]:
    """Keep the test's database connection open across the in-process requests, as Django's test client does
    (a real server closes it at the end of every request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def secret(db: None, _in_test_transaction: None) -> str:
    """An API key, and a little data for the generated requests to find."""
    sso = catalog.feature_create(actor=SYSTEM_ACTOR, key="sso", name="SSO")
    pro = catalog.plan_create(actor=SYSTEM_ACTOR, key="pro", name="Pro")
    catalog.entitlement_create(actor=SYSTEM_ACTOR, plan=pro, feature=sso, value_type="boolean")
    catalog.price_create(actor=SYSTEM_ACTOR, plan=pro, interval="month", currency="usd", amount_minor=2900)
    ai = credit_type_create(actor=SYSTEM_ACTOR, key="ai", name="AI credits")
    company = company_create(actor=SYSTEM_ACTOR, name="Acme", keys={"external_id": "acme"}, now=timezone.now())
    credit_grant(
        actor=SYSTEM_ACTOR,
        company_id=company.pk,
        credit_type=ai,
        quantity=Decimal(10),
        reason="manual",
        now=timezone.now(),
    )
    return api_key_create(actor=SYSTEM_ACTOR, name="fuzz").secret


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible, not a flake
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api__generated_requests__documented_statuses_and_shapes_no_server_error(case: Any, secret: str) -> None:
    case.call_and_validate(
        headers={"X-Schematic-Api-Key": secret},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )

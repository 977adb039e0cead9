"""The official Node SDK in datastream mode (``useDataStream: true``) against the real server: flags, companies and
users come over ``/datastream`` and checks are evaluated in the SDK, so they send no REST request."""

from __future__ import annotations

from decimal import Decimal

import httpx
from django.utils import timezone

from catalog import services as catalog
from catalog.credit_services import credit_type_create
from core.actors import SYSTEM_ACTOR
from credits.services import credit_grant
from entitlements.models import FlagCheckRecord, UsageEvent
from entitlements.selectors import company_list
from entitlements.services.subscriptions import subscription_put
from tests.sdk_node.conftest import LIMIT, NodeRun, NodeRunner, World, flag_checks, generations_this_month
from tests.sdk_node.expected import PREFLIGHT_EXPECTED, assert_answers, checks_expected


def parse_failures(run: NodeRun) -> list[str]:
    """What the SDK logged about documents it could not take: a dropped flag, company or user would be checked over
    REST (or wait 30 s), so none is expected."""
    words = ("deserialize", "Expected", "Failed", "parse")
    return [line for line in run.logs if any(word in line for word in words)]


def test_node_datastream__checks__answered_locally_and_reported(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    def checks_reported() -> None:
        # every local check sent a flag_check event; the server counts them per company and flag
        reported = {(row.company_public_id, row.flag_key): row.check_count for row in FlagCheckRecord.objects.all()}
        assert reported[(world.acme.public_id, "sso")] == 2  # Acme, and Acme with Ann
        assert reported[(world.acme.public_id, "ai-generations")] == 1
        assert reported[(world.globex.public_id, "sso")] == 1
        assert flag_checks(requests_seen) == []  # everything so far was answered locally

    run = node("datastream_checks", waits={"checks_reported": checks_reported})

    assert_answers(run.results, checks_expected(world))
    assert run["acme_cached"] == world.acme.public_id
    assert run["unknown_company"]["reason"] == "Company not found"
    assert run["unknown_flag"] == {"sso": True, "no-such-flag": False}
    assert run["all_flags"] == {"sso": True, "ai-generations": True}
    # asked of the server, as the SDK does in this mode: the unknown company after the server's error answer, then
    # checkFlags with a key it does not hold, and without keys
    assert flag_checks(requests_seen) == ["/flags/sso/check", "/flags/check", "/flags/check"]
    assert run.logs == ["warn: DataStream error received: company not found"]


def test_node_datastream__override_granted_on_the_server__pushed_and_seen_without_rest(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    def grant() -> None:
        response = httpx.post(
            f"{node.server.url}/api/v1/companies/{world.acme.public_id}/overrides",
            json={"feature": "sso", "value_type": "boolean", "value": True, "note": "deal closes at 5 pm"},
            headers={"X-Schematic-Api-Key": node.server.api_secret},
        )
        assert response.status_code == 201, response.text

    run = node("datastream_override", waits={"grant": grant})

    assert run["before"] is False
    assert run["after"]["value"] is True
    assert run["after"]["ruleType"] == "company_override"
    assert flag_checks(requests_seen) == []
    assert parse_failures(run) == []


def test_node_datastream__track__server_counts_a_retried_key_once_and_its_count_is_pushed(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    def tracked() -> None:
        assert UsageEvent.objects.count() == 2  # order-1 (2) twice, then one event without a key (1)
        assert generations_this_month(world.acme) == 3

    run = node("datastream_usage", waits={"tracked": tracked})

    assert run["before"]["usage"] == 0
    assert run["after_push"]["usage"] == 3  # the server's count replaced the SDK's own (5: it counted the retry)
    limit_reached = {"value": False, "usage": LIMIT, "ruleType": "plan_entitlement_usage_exceeded"}
    assert_answers(run.results, {"at_limit": limit_reached})
    assert flag_checks(requests_seen) == []
    assert parse_failures(run) == []


def test_node_datastream__identify__new_company_answered_over_the_socket_and_its_traits_pushed(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    def identified() -> None:
        assert company_list(key_name="external_id", key_value="initech").get().name == "Initech"

    run = node("datastream_identify", waits={"identified": identified})

    initech = company_list(key_name="external_id", key_value="initech").get()
    assert run["checked"]["companyId"] == initech.public_id
    assert (run["checked"]["value"], run["checked"]["allocation"]) == (True, LIMIT)
    assert run["pushed_seats"] == "7"
    assert initech.name == "Initech Corp"
    assert flag_checks(requests_seen) == []
    assert parse_failures(run) == []


def test_node_datastream__preflight_options__answered_locally(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    run = node("datastream_preflight")  # 3 of 5 generations used

    assert_answers(run.results, PREFLIGHT_EXPECTED)
    assert flag_checks(requests_seen) == []
    assert parse_failures(run) == []


def test_node_datastream__credit_account_opened_with_an_overdraft__sent_in_full_and_applied(
    node: NodeRunner, world: World, requests_seen: list[str]
) -> None:
    """The Node SDK ignores ``credit_postpaid`` in a partial: the server sends the company in full to an SDK holding
    it with other values (here: none, before the company's first grant opened its account)."""
    credits = credit_type_create(actor=SYSTEM_ACTOR, key="ai-credits", name="AI credits", overdraft_limit=Decimal(100))
    query = catalog.feature_create(
        actor=SYSTEM_ACTOR, key="ai-query", name="AI query", feature_type="event", event_name="ai-query"
    )
    plan = catalog.plan_create(actor=SYSTEM_ACTOR, key="metered", name="Metered")
    catalog.entitlement_create(
        actor=SYSTEM_ACTOR, plan=plan, feature=query, value_type="credit", credit_type=credits,
        consumption_rate=Decimal(1),
    )  # fmt: skip
    subscription_put(actor=SYSTEM_ACTOR, company=world.acme, plan=plan, now=timezone.now())

    def grant() -> None:
        credit_grant(
            actor=SYSTEM_ACTOR, company_id=world.acme.pk, credit_type=credits, quantity=Decimal(5),
            reason="purchase", now=timezone.now(),
        )  # fmt: skip

    run = node("datastream_credit_overdraft", waits={"grant": grant}, params={"credit_type_id": credits.public_id})

    assert run["before"] is False  # 50 credits, and no account yet
    assert run["after"] is True  # 5 - 50 is within the overdraft of 100
    assert run["held"]["balances"] == {credits.public_id: 5}
    assert run["held"]["postpaid"] == {credits.public_id: {"overdraftLimit": 100}}  # as the SDK parsed it
    assert flag_checks(requests_seen) == []
    assert parse_failures(run) == []

"""The official Node SDK (``useDataStream: false``) against the real server: every check is a REST call."""

from __future__ import annotations

from entitlements.models import Company, CompanyTrait, UsageEvent
from entitlements.selectors import company_list
from tests.sdk_node.conftest import NodeRunner, World, flag_checks, generations_this_month
from tests.sdk_node.expected import PREFLIGHT_EXPECTED, assert_answers, checks_expected


def test_node_rest__checks__the_servers_answers(node: NodeRunner, world: World, requests_seen: list[str]) -> None:
    run = node("rest_checks")

    assert_answers(run.results, checks_expected(world))
    assert run["ann_sso"]["userId"] is not None and run["ann_sso"]["userId"].startswith("user_")
    assert run["unknown_company"] == {**run["unknown_company"], "value": False, "reason": "Company not found"}
    assert run["unknown_flag"] == {"sso": True, "no-such-flag": False}  # the SDK's default for a flag not returned
    assert run["all_flags"] == {"sso": True, "ai-generations": True}
    assert set(flag_checks(requests_seen)) == {"/flags/sso/check", "/flags/ai-generations/check", "/flags/check"}
    assert run.logs == []


def test_node_rest__identify_then_track__company_created_updated_and_a_retried_key_counted_once(
    node: NodeRunner, world: World
) -> None:
    def identified() -> None:
        initech = company_list(key_name="external_id", key_value="initech").get()
        assert initech.name == "Initech"
        assert initech.subscriptions.get().plan.key == "free"  # the initial plan
        assert CompanyTrait.objects.get(company=initech, definition__key="seats").value == "3"

    def identified_again() -> None:
        initech = company_list(key_name="external_id", key_value="initech").get()
        assert initech.name == "Initech Corp"
        assert CompanyTrait.objects.get(company=initech, definition__key="seats").value == "7"
        assert Company.objects.count() == 3  # updated, not created again

    def tracked() -> None:
        # order-1 (2) sent twice, then one event without a key (1)
        initech = company_list(key_name="external_id", key_value="initech").get()
        assert UsageEvent.objects.filter(company=initech).count() == 2
        assert generations_this_month(initech) == 3

    run = node(
        "rest_events", waits={"identified": identified, "identified_again": identified_again, "tracked": tracked}
    )

    assert run["usage"]["usage"] == 3
    assert run["usage"]["value"] is True
    assert run.logs == []


def test_node_rest__preflight_options__answer_for_the_simulated_usage_and_record_nothing(
    node: NodeRunner, world: World
) -> None:
    run = node("rest_preflight")  # 3 of 5 generations used

    assert_answers(run.results, PREFLIGHT_EXPECTED)
    assert UsageEvent.objects.count() == 1
    assert run.logs == []

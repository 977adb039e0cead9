"""What the Node SDK is expected to answer in both modes: the same questions (``scenarios.mjs``), the same answers."""

from __future__ import annotations

from tests.sdk_node.conftest import LIMIT, World


def checks_expected(world: World) -> dict[str, object]:
    """What both modes answer to ``checks`` (``scenarios.mjs``): the server's answers, as the SDK reports them."""
    acme = world.acme.public_id
    no_rule = "No rules matched; default value for flag"
    return {
        "globex_sso": True,
        "acme_sso": {"value": False, "reason": no_rule, "companyId": acme, "ruleType": None},
        "acme_generations": {
            "value": True,
            "companyId": acme,
            "ruleType": "plan_entitlement",
            "usage": 0,
            "allocation": LIMIT,
        },
        "ann_sso": {"value": False, "companyId": acme},
        "no_context": {"value": False, "reason": no_rule, "companyId": None},
        "some_flags": {"sso": False, "ai-generations": True},
    }


def assert_answers(results: dict[str, object], expected: dict[str, object]) -> None:
    """Each expected answer, compared on the fields it names (an expected dict is a subset of the answer)."""
    for name, want in expected.items():
        got = results[name]
        if isinstance(want, dict) and isinstance(got, dict):
            assert {key: got.get(key) for key in want} == want, name
        else:
            assert got == want, name


PREFLIGHT_EXPECTED: dict[str, object] = {
    "usage_1": True,
    "usage_2": False,
    "usage_1_5": False,  # the SDK rounds a fraction up
    "event_usage_1": True,
    "event_usage_2": False,
    "check_usage_2": {"allowed": False, "reservation": None},  # check() without creditLeases: a plain check
    "after": {"value": True, "usage": 3},  # a preflight is a question: nothing was recorded
}
"""The preflight answers of both modes (``preflights`` in ``scenarios.mjs``) with 3 of 5 generations used."""

"""Hypothesis strategies for random but valid rules-engine wire documents (PROTOCOL.md §4).

A *scenario* is ``(flag, company | None, user | None, options | None)``: the four members of the envelope the SDK
hands to Schematic's WASM engine. Every document carries every key the SDK's pydantic models require (lists may
be ``[]``, ``trait_value`` is always a string, metric values and limits are integers, timestamps are RFC 3339 with
``Z``) so ``RulesengineFlag`` / ``RulesengineCompany`` / ``RulesengineUser`` accept it.

The vocabulary is deliberately small (a handful of plans, events, credits, traits, ids) so that conditions and
context documents collide often: numeric limits sit next to metrics valued ``limit-1 / limit / limit+1 / 0 /
missing``, credit rates next to balances on both sides of the threshold, traits next to comparison values of every
comparable type. Ids follow Schematic's conventions (``flag_…``, ``rule_…``, ``cond_…``, ``comp_…``, ``user_…``,
``plan_…``, ``cred_…``) and are numbered per scenario, so the ``rule_id`` in a reason identifies one rule.

``scenario(now)`` builds billing subscriptions relative to ``now`` (default: the wall clock when the strategy is
built). ``scenario_at()`` draws an instant too (month ends, leap days, week boundaries, …) and returns
``(now, scenario)`` so two engines can be run on one pinned clock and failures replay deterministically.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

Doc = dict[str, Any]
Scenario = tuple[Doc, Doc | None, Doc | None, Doc | None]

ACCOUNT_ID = "acct_1"
ENVIRONMENT_ID = "env_1"

FLAG_KEYS = ("feature-x", "api-calls", "ai-query")
OTHER_FLAG_ID = "flag_other"
BASE_PLANS = ("plan_free", "plan_pro", "plan_team")
ADDON_PLANS = ("plan_addon_seats", "plan_addon_ai")
PLANS = BASE_PLANS + ADDON_PLANS
PLAN_VERSIONS = ("plnv_pro_1", "plnv_pro_2", "plnv_team_1")
BILLING_PRODUCTS = ("bprod_pro", "bprod_team", "bprod_ai")
COMPANY_IDS = ("comp_1", "comp_2", "comp_9")
USER_IDS = ("user_1", "user_2", "user_9")
EVENTS = ("api-call", "ai-query", "export")
CREDITS = ("cred_ai", "cred_storage")
PERIODS = ("current_day", "current_week", "current_month", "all_time")
MONTH_RESETS = ("first_of_month", "billing_cycle")
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "is_empty", "not_empty")
RULE_TYPES = (
    "global_override",
    "company_override",
    "plan_entitlement",
    "company_override_usage_exceeded",
    "plan_entitlement_usage_exceeded",
    "standard",
    "default",
)
CONDITION_TYPES = (
    "company",
    "user",
    "plan",
    "base_plan",
    "plan_version",
    "billing_product",
    "metric",
    "trait",
    "credit",
)
LIMITS = (10, 0, 1, 3, 100)
RULE_NAMES = ("Pro plan", "standard", "Team: 100 api-call/month", 'Say "hi"', "Ünïcode ✓", "")


def _trait_def(id_: str, comparable_type: str, entity_type: str) -> Doc:
    return {"id": id_, "comparable_type": comparable_type, "entity_type": entity_type}


TRAIT_DEFS: tuple[Doc, ...] = (
    _trait_def("td_seats", "int", "company"),
    _trait_def("td_api_limit", "int", "company"),
    _trait_def("td_region", "string", "company"),
    _trait_def("td_beta", "bool", "company"),
    _trait_def("td_signup", "date", "company"),
    _trait_def("td_age", "int", "user"),
    _trait_def("td_role", "string", "user"),
    _trait_def("td_vip", "bool", "user"),
    _trait_def("td_joined", "date", "user"),
)

# Values per comparable type: mostly well-formed, a few that a parser may treat differently.
TRAIT_VALUES: dict[str, tuple[str, ...]] = {
    "int": ("0", "1", "4", "5", "9", "10", "11", "100", "-3", "", "abc", "5.5", " 7", "+5", "007"),
    "string": ("eu", "us", "EU", "", "10", "9", "admin", "viewer", "a b"),
    "bool": ("true", "false", "", "TRUE", "True", "1", "yes"),
    "date": (
        "2024-01-01",
        "2023-12-31",
        "2025-03-04",
        "2025-03-04T05:06:07Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+02:00",
        "2024-02-29T23:59:59.5Z",
        "Mon Mar 04 2024 05:06:07 GMT+0000 (Coordinated Universal Time)",
        "Thu, 01 Feb 2024 00:00:00 GMT",
        "",
        "not a date",
    ),
}
CONSUMPTION_RATES: tuple[float | None, ...] = (None, 0, 0.5, 1, 2.5, 3)
BALANCES: tuple[float, ...] = (10, 0, -5, -0.5, 0.01, 0.5, 1, 2.4, 2.5, 2.6, 5, 12.5, 100)


def _base(**fields: Any) -> Doc:
    return {"account_id": ACCOUNT_ID, "environment_id": ENVIRONMENT_ID, **fields}


def _rfc3339(moment: datetime) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


# ---------------------------------------------------------------------------------------------------------------------
# Instants


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


_SPECIAL_INSTANTS = (
    datetime(2026, 11, 21, 7, 49, 52, tzinfo=UTC),  # when engine-cases.json was recorded (a Saturday)
    datetime(2026, 11, 22, 0, 0, 0, tzinfo=UTC),  # Sunday midnight: a week starts
    datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC),
    datetime(2027, 1, 31, 12, 0, tzinfo=UTC),
    datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC),
    datetime(2028, 2, 29, 8, 0, tzinfo=UTC),  # leap day
    datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 30, 10, 0, tzinfo=UTC),
)


def instants() -> st.SearchStrategy[datetime]:
    """UTC instants for the engine's clock: calendar edges first, any millisecond in 2025-2029 otherwise."""
    anywhere = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31)).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    )
    return st.one_of(st.sampled_from(_SPECIAL_INSTANTS), anywhere)


# ---------------------------------------------------------------------------------------------------------------------
# Conditions


_PERCENT = st.integers(0, 99)


@functools.cache
def _sampled(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``sampled_from`` built once per tuple (building and validating strategies dominates generation time)."""
    return st.sampled_from(values)


class _World:
    """Per-scenario choices shared by the generators so rules and context documents collide."""

    def __init__(self, draw: st.DrawFn, now: datetime) -> None:
        self.draw = draw
        self.now = now
        self.flag_key: str = draw(st.sampled_from(FLAG_KEYS))
        self.flag_id = f"flag_{self.flag_key}"
        self.company_id: str = draw(st.sampled_from(("comp_1", "comp_1", "comp_2")))
        self.user_id: str = draw(st.sampled_from(("user_1", "user_1", "user_2")))
        # The allowance per event that entitlement rules use; metrics are drawn around it.
        self.limits: dict[str, int] = {event: draw(st.sampled_from(LIMITS)) for event in EVENTS}
        self.main_event: str = draw(st.sampled_from(EVENTS))
        self.main_credit: str = draw(st.sampled_from(CREDITS))

    def one_of(self, values: tuple[Any, ...] | list[Any]) -> Any:
        try:
            strategy = _sampled(values)  # type: ignore[arg-type]
        except TypeError:  # unhashable (a list, or dicts inside)
            strategy = st.sampled_from(values)
        return self.draw(strategy)

    def maybe(self, probability_pct: int) -> bool:
        """True with this probability; shrinks to False (the feature left out)."""
        return self.draw(_PERCENT) >= 100 - probability_pct

    def usually(self, probability_pct: int) -> bool:
        """True with this probability; shrinks to True (the common case kept)."""
        return self.draw(_PERCENT) < probability_pct

    def subset(self, values: tuple[str, ...], *, min_size: int = 0) -> list[str]:
        picked: list[str] = self.draw(
            st.lists(st.sampled_from(values), min_size=min_size, max_size=len(values), unique=True)
        )
        return picked


def _condition(condition_type: str, operator: str, **fields: Any) -> Doc:
    return _base(
        id="",  # numbered by _number_ids
        condition_type=condition_type,
        operator=operator,
        resource_ids=fields.pop("resource_ids", []),
        trait_value=fields.pop("trait_value", ""),
        **fields,
    )


def _optional(world: _World, fields: Doc) -> Doc:
    """Drop or null out optional condition keys whose value is None (the wire allows both)."""
    null_style = world.maybe(50)
    return {k: v for k, v in fields.items() if v is not None or null_style}


def _id_condition(world: _World, condition_type: str) -> Doc:
    pool = {
        "company": COMPANY_IDS,
        "user": USER_IDS,
        "plan": PLANS,
        "base_plan": BASE_PLANS,
        "plan_version": PLAN_VERSIONS,
        "billing_product": BILLING_PRODUCTS,
    }[condition_type]
    operator = world.one_of(("eq", "eq", "ne", *OPERATORS))
    return _condition(condition_type, operator, resource_ids=world.subset(pool))


def _metric_condition(world: _World, *, operator: str | None = None, event: str | None = None) -> Doc:
    event = event or (world.main_event if world.usually(70) else world.one_of(EVENTS))
    limit = world.limits[event] if world.usually(80) else world.one_of((*LIMITS, 7, None))
    comparison = None
    if world.maybe(10):
        comparison = dict(world.one_of([td for td in TRAIT_DEFS if td["id"] in ("td_api_limit", "td_seats", "td_age")]))
    fields = {
        "event_subtype": event,
        "metric_value": limit,
        "metric_period": world.one_of((*PERIODS, None)),
        "metric_period_month_reset": world.one_of((*MONTH_RESETS, None)),
        "comparison_trait_definition": comparison,
    }
    return _condition("metric", operator or world.one_of(OPERATORS), **_optional(world, fields))


def _trait_condition(world: _World) -> Doc:
    definition: Doc | None = dict(world.one_of(TRAIT_DEFS)) if world.usually(97) else None
    comparable = definition["comparable_type"] if definition else "string"
    comparison = None
    if definition is not None and world.maybe(15):
        same_type = [td for td in TRAIT_DEFS if td["comparable_type"] == comparable]
        comparison = dict(world.one_of(same_type if world.usually(80) else list(TRAIT_DEFS)))
    fields = {"trait_definition": definition, "comparison_trait_definition": comparison}
    return _condition(
        "trait", world.one_of(OPERATORS), trait_value=world.one_of(TRAIT_VALUES[comparable]), **_optional(world, fields)
    )


def _credit_condition(world: _World, *, operator: str | None = None) -> Doc:
    fields = {
        "credit_id": (world.main_credit if world.usually(80) else world.one_of(CREDITS)) if world.usually(97) else None,
        "consumption_rate": world.one_of(CONSUMPTION_RATES),
        "event_subtype": world.one_of((*EVENTS, None)),
        "metric_value": world.one_of((None, None, 1000, 1)),
    }
    return _condition("credit", operator or world.one_of(OPERATORS), **_optional(world, fields))


def _any_condition(world: _World) -> Doc:
    condition_type = world.one_of(CONDITION_TYPES)
    if condition_type == "metric":
        return _metric_condition(world)
    if condition_type == "trait":
        return _trait_condition(world)
    if condition_type == "credit":
        return _credit_condition(world)
    return _id_condition(world, condition_type)


def _plan_condition(world: _World, plans: list[str]) -> Doc:
    return _condition("plan", "eq", resource_ids=plans)


# ---------------------------------------------------------------------------------------------------------------------
# Rules


def _rule(world: _World, rule_type: str, value: bool, conditions: list[Doc], **extra: Any) -> Doc:
    groups = extra.pop("condition_groups", [])
    return _base(
        id="",  # numbered by _number_ids
        flag_id=extra.pop("flag_id", world.flag_id),
        rule_type=rule_type,
        name=extra.pop("name", None) or world.one_of(RULE_NAMES),
        priority=extra.pop("priority", None) if "priority" in extra else world.one_of((0, 0, 1, 2, 3)),
        value=value,
        conditions=conditions,
        condition_groups=groups,
    )


def _entitled_plans(world: _World) -> list[str]:
    return world.subset(PLANS, min_size=1)[:2]


def _numeric_limit_rules(world: _World) -> list[Doc]:
    """plan_entitlement(true, [plan, metric < N]) + plan_entitlement_usage_exceeded(false, [plan]) (PROTOCOL §5.5)."""
    plans = _entitled_plans(world)
    metric = _metric_condition(world, operator=world.one_of(("lt", "lt", "lte")))
    rules = [_rule(world, "plan_entitlement", True, [_plan_condition(world, plans), metric])]
    if world.usually(85):
        rules.append(_rule(world, "plan_entitlement_usage_exceeded", False, [_plan_condition(world, plans)]))
    return rules


def _credit_rules(world: _World) -> list[Doc]:
    plans = _entitled_plans(world)
    rules = [
        _rule(world, "plan_entitlement", True, [_plan_condition(world, plans), _credit_condition(world, operator="lt")])
    ]
    if world.usually(65):  # without it a spend-policy block surfaces as the result's reason (PROTOCOL §5.2.7)
        rules.append(_rule(world, "plan_entitlement_usage_exceeded", False, [_plan_condition(world, plans)]))
    return rules


def _boolean_plan_rules(world: _World) -> list[Doc]:
    return [_rule(world, "plan_entitlement", world.usually(85), [_plan_condition(world, _entitled_plans(world))])]


def _trait_limit_rules(world: _World) -> list[Doc]:
    plans = _entitled_plans(world)
    condition = _trait_condition(world)
    return [_rule(world, "plan_entitlement", True, [_plan_condition(world, plans), condition])]


# Random rule types, weighted towards the ones whose conditions are evaluated (a global override ends every check).
_RANDOM_RULE_TYPES = (
    "standard",
    "standard",
    "standard",
    "plan_entitlement",
    "plan_entitlement_usage_exceeded",
    "company_override",
    "company_override_usage_exceeded",
    "default",
)


def _random_rule(world: _World, rule_type: str | None = None) -> Doc:
    conditions = [_any_condition(world) for _ in range(world.draw(st.integers(0, 3)))]
    groups = [
        {"conditions": [_any_condition(world) for _ in range(world.draw(st.integers(0, 3)))]}
        for _ in range(world.draw(st.integers(0, 2)) if world.maybe(35) else 0)
    ]
    rule_type = rule_type or world.one_of((*_RANDOM_RULE_TYPES, "global_override"))
    return _rule(world, rule_type, world.maybe(50), conditions, condition_groups=groups)


def _standard_rules(world: _World) -> list[Doc]:
    """Targeting rules with priorities, ties included."""
    return [_random_rule(world, "standard") for _ in range(world.draw(st.integers(1, 3)))]


_FLAG_RULE_KINDS: tuple[Callable[[_World], list[Doc]], ...] = (
    _numeric_limit_rules,
    _numeric_limit_rules,
    _numeric_limit_rules,
    _credit_rules,
    _credit_rules,
    _boolean_plan_rules,
    _trait_limit_rules,
    _standard_rules,
    _standard_rules,
    lambda world: [_random_rule(world, world.one_of(_RANDOM_RULE_TYPES))],
    lambda world: [_random_rule(world, world.one_of(_RANDOM_RULE_TYPES))],
    lambda world: [_random_rule(world, "global_override" if world.maybe(35) else "default")],
)


def _override_flag_id(world: _World) -> str | None:
    """Rules kept on a company/user: mostly for this flag, sometimes for another flag or none (filtered out)."""
    return world.one_of((world.flag_id,) * 8 + (OTHER_FLAG_ID, None))


def _company_override_rules(world: _World) -> list[Doc]:
    flag_id = _override_flag_id(world)
    target = [_condition("company", "eq", resource_ids=[world.company_id if world.usually(90) else "comp_9"])]
    if world.maybe(50):  # numeric override: its own limit
        rules = [
            _rule(world, "company_override", True, [*target, _metric_condition(world, operator="lt")], flag_id=flag_id)
        ]
        if world.maybe(70):
            rules.append(_rule(world, "company_override_usage_exceeded", False, target, flag_id=flag_id))
        return rules
    return [_rule(world, "company_override", world.maybe(50), target, flag_id=flag_id)]


# ---------------------------------------------------------------------------------------------------------------------
# Context documents


def _traits(world: _World, entity_type: str) -> list[Doc]:
    traits = []
    for definition in TRAIT_DEFS:
        if definition["entity_type"] == entity_type and world.maybe(65):
            traits.append(
                {
                    "trait_definition": dict(definition),
                    "value": world.one_of(TRAIT_VALUES[definition["comparable_type"]]),
                }
            )
    return traits


def _metric_value(world: _World, event: str) -> int:
    limit = world.limits[event]
    return int(world.one_of((max(limit - 1, 0), limit, limit + 1, 0, limit + 1, world.draw(st.integers(0, 150)))))


def _metrics(world: _World, company_id: str) -> list[Doc]:
    keys: list[tuple[str, str, str]] = world.draw(
        st.lists(
            st.tuples(
                st.sampled_from((world.main_event, world.main_event, *EVENTS)),
                st.sampled_from(PERIODS),
                st.sampled_from(("first_of_month", "first_of_month", "billing_cycle")),
            ),
            max_size=5,
            unique=True,
        )
    )
    return [
        _base(
            company_id=company_id,
            event_subtype=event,
            period=period,
            month_reset=month_reset,
            value=_metric_value(world, event),
            created_at="2025-01-01T00:00:00Z",
            valid_until=world.one_of((None, "2030-01-01T00:00:00Z")),
        )
        for event, period, month_reset in keys
    ]


def _subscription(world: _World) -> Doc | None:
    if not world.maybe(55):
        return None
    now = world.now
    if world.maybe(30):
        # anchored on the 29th-31st of a recent month: billing-cycle resets must clamp to short months
        start = _add_months(now, -world.draw(st.integers(0, 13)))
        start = start.replace(day=1, hour=world.draw(st.integers(0, 23)), minute=world.draw(st.integers(0, 59)))
        for day in range(world.draw(st.integers(29, 31)), 27, -1):
            try:
                start = start.replace(day=day)
                break
            except ValueError:
                continue
    else:
        start = now - timedelta(seconds=world.draw(st.integers(-3 * 86400, 400 * 86400)))
    start = start.replace(microsecond=world.one_of((0, 0, 0, 123000)))
    end = world.one_of(
        (
            _add_months(start, 1),
            _add_months(start, 12),
            _add_months(start, 12),
            start + timedelta(days=world.draw(st.integers(1, 60))),
        )
    )
    return {"id": "sub_1", "period_start": _rfc3339(start), "period_end": _rfc3339(end)}


def _spend_policies(world: _World, scope: str) -> list[Doc] | None:
    if not world.maybe(30 if scope == "company" else 15):
        return world.one_of((None, []))
    policies = []
    for index in range(world.draw(st.integers(1, 2))):
        kind = world.one_of(("per_draw", "window", "window", "cap"))
        policy: Doc = {
            "id": f"csp_{scope}_{index + 1}",
            "credit_id": world.main_credit if world.usually(80) else world.one_of(CREDITS),
            "kind": kind,
            "limit": world.one_of((0, 1, 2.5, 3, 10, 100)),
            "scope": scope,
        }
        if kind == "window":
            policy["consumed"] = world.one_of((0, 5, 7, 7.5, 9, 10))
            policy["window"] = {"count": world.one_of((1, 1, 2)), "unit": world.one_of(("day", "week", "month"))}
        policies.append(policy)
    return policies


def _entitlements(world: _World) -> list[Doc] | None:
    if not world.maybe(60):
        return world.one_of((None, []))
    entries: list[Doc] = []
    for feature_key in world.subset((world.flag_key, "other-feature"), min_size=1):
        value_type = world.one_of(("boolean", "credit", "numeric", "trait", "unknown", "unlimited"))
        entry: Doc = {"feature_id": f"feat_{feature_key}", "feature_key": feature_key, "value_type": value_type}
        if value_type == "numeric":
            entry |= {
                "allocation": world.limits[world.main_event],
                "usage": _metric_value(world, world.main_event),
                "event_name": world.main_event,
                "metric_period": world.one_of(PERIODS),
                "month_reset": world.one_of(MONTH_RESETS),
                "metric_reset_at": "2026-12-01T00:00:00Z",
                "soft_limit": world.one_of((None, 80)),
                "warning_tiers": [{"key": "80pct", "value": 80}] if world.maybe(30) else None,
            }
        elif value_type == "credit":
            entry |= {
                "credit_id": world.main_credit,
                "credit_total": 100.0,
                "credit_used": 12.5,
                "credit_remaining": 87.5,
                "consumption_rate": 2.5,
                "event_subtype": world.main_event,
            }
        entries.append({k: v for k, v in entry.items() if v is not None})
    return entries


def _company(world: _World) -> Doc:
    company_id = world.company_id
    plan_ids = world.subset(PLANS)
    base_candidates = [plan for plan in plan_ids if plan in BASE_PLANS]
    base_plan_id = world.one_of(base_candidates) if base_candidates and world.usually(85) else None
    balances = {credit: world.one_of(BALANCES) for credit in CREDITS if world.maybe(70)}
    postpaid = None
    if world.maybe(20):
        postpaid = {
            world.main_credit if world.usually(85) else world.one_of(CREDITS): {
                "overdraft_limit": world.one_of((None, 0, 1, 2.5, 100))
            }
        }
    rules: list[Doc] = []
    if world.maybe(30):
        rules += _company_override_rules(world)
    if world.maybe(15):
        rules.append(_random_rule(world) | {"flag_id": _override_flag_id(world)})
    company: Doc = _base(
        id=company_id,
        keys={"external_id": f"ext-{company_id.removeprefix('comp_')}"},
        plan_ids=plan_ids,
        plan_version_ids=world.subset(PLAN_VERSIONS),
        billing_product_ids=world.subset(BILLING_PRODUCTS),
        base_plan_id=base_plan_id,
        credit_balances=balances,
        metrics=_metrics(world, company_id),
        traits=_traits(world, "company"),
        rules=rules,
        subscription=_subscription(world),
        entitlements=_entitlements(world),
    )
    if postpaid is not None or world.maybe(10):
        company["credit_postpaid"] = postpaid
    policies = _spend_policies(world, "company")
    if policies is not None or world.maybe(10):
        company["credit_spend_policies"] = policies
    return company


def _user(world: _World) -> Doc:
    rules: list[Doc] = []
    if world.maybe(25):
        rules.append(_random_rule(world, world.one_of(("company_override", "standard"))))
        rules[-1]["flag_id"] = _override_flag_id(world)
    user: Doc = _base(
        id=world.user_id,
        keys={"email": f"{world.user_id}@example.com"},
        traits=_traits(world, "user"),
        rules=rules,
    )
    policies = _spend_policies(world, "user")
    if policies is not None or world.maybe(10):
        user["credit_spend_policies"] = policies
    return user


def _options(world: _World) -> Doc | None:
    if not world.maybe(50):
        return None
    negative = world.maybe(8)

    def quantity() -> int:
        value = int(world.one_of((0, 1, 1, 2, 4, 5, world.limits[world.main_event], world.draw(st.integers(0, 120)))))
        return -value - 1 if negative and world.maybe(50) else value

    options: Doc = {"usage": None, "event_usage": None, "credit_cost": None}
    if world.maybe(50):
        options["usage"] = quantity()
    if world.maybe(35):
        event = world.main_event if world.usually(70) else world.one_of((*EVENTS, "other-event"))
        options["event_usage"] = {"event_subtype": event, "quantity": quantity()}
    if world.maybe(25):
        amount = world.one_of((0, 0.5, 1, 2.5, 3, 10, 11, 100))
        if negative and world.maybe(50):
            amount = -1.5
        options["credit_cost"] = {world.main_credit if world.usually(85) else world.one_of(CREDITS): amount}
    return options


def _number_ids(flag: Doc, company: Doc | None, user: Doc | None) -> None:
    """Give every rule and condition a unique, realistic id (rule_1, cond_1, …) in document order."""
    rule_ids: Iterator[int] = itertools.count(1)
    condition_ids: Iterator[int] = itertools.count(1)
    rule_lists = [flag["rules"]] + [doc["rules"] for doc in (company, user) if doc is not None]
    for rules in rule_lists:
        for rule in rules:
            rule["id"] = f"rule_{next(rule_ids)}"
            for condition in rule["conditions"] + [c for g in rule["condition_groups"] for c in g["conditions"]]:
                condition["id"] = f"cond_{next(condition_ids)}"


@st.composite
def _scenario(draw: st.DrawFn, now: datetime) -> Scenario:
    world = _World(draw, now)
    kinds = draw(st.lists(st.sampled_from(_FLAG_RULE_KINDS), min_size=0, max_size=4))
    rules = [rule for kind in kinds for rule in kind(world)]
    if world.maybe(15):  # rule order inside one type must not matter beyond the documented tie-breaks
        rules = draw(st.permutations(rules))
    if rules and world.maybe(1):  # valid for the SDK models, but the engine refuses the check (PROTOCOL §4.2, F16)
        rules[0]["rule_type"] = "seasonal"
    flag = _base(id=world.flag_id, key=world.flag_key, default_value=world.maybe(30), rules=rules)
    company = _company(world) if world.maybe(85) else None
    user = _user(world) if world.maybe(40) else None
    _number_ids(flag, company, user)
    return flag, company, user, _options(world)


def scenario(now: datetime | None = None) -> st.SearchStrategy[Scenario]:
    """``(flag, company | None, user | None, options | None)``; subscriptions are placed relative to ``now``."""
    return _scenario(now or datetime.now(UTC).replace(microsecond=0))


@st.composite
def scenario_at(draw: st.DrawFn) -> tuple[datetime, Scenario]:
    """An instant for the engine's clock and a scenario whose subscriptions are placed relative to it."""
    now = draw(instants())
    return now, draw(_scenario(now))

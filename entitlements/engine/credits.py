"""Credit conditions (PROTOCOL.md §5.2.5-7): what a draw costs, whether the balance covers it, and spend policies."""

from __future__ import annotations

from entitlements.engine.model import Company, Condition, Options, SpendPolicy, User

COST_FROM_CREDIT_COST = "credit_cost"
COST_FROM_EVENT_USAGE = "event_usage"
COST_FROM_USAGE = "usage"
COST_ONE_UNIT = "one_unit"


def credit_cost(condition: Condition, options: Options | None) -> tuple[float, str]:
    """The credits this check would draw, and how it was priced.

    A preflight ``credit_cost`` for the credit wins; else ``event_usage.quantity x rate`` when the preflight event is
    the condition's and the quantity positive; else ``usage x rate`` when positive; else one unit (``rate``).
    """
    rate = condition.consumption_rate
    if options is not None:
        costs = options.credit_costs
        if costs and condition.credit_id in costs:
            return costs[condition.credit_id], COST_FROM_CREDIT_COST  # type: ignore[index]
        if options.event_quantity > 0 and options.event_subtype == condition.event_subtype:
            return options.event_quantity * rate, COST_FROM_EVENT_USAGE
        if options.usage > 0:
            return options.usage * rate, COST_FROM_USAGE
    return rate, COST_ONE_UNIT


def overdraft_allowance(company: Company, credit_id: str) -> tuple[bool, float | None]:
    """Whether the credit is postpaid, and how far below zero its balance may go (``None``: without floor)."""
    overdrafts = company.credit_overdrafts
    if credit_id in overdrafts:
        return True, overdrafts[credit_id]
    return False, 0.0


def is_balance_sufficient(company: Company, condition: Condition, cost: float, cost_source: str) -> bool:
    """Whether balance plus overdraft covers ``cost``; a free draw priced at rate 0 still needs a positive balance."""
    credit_id: str = condition.credit_id  # type: ignore[assignment]
    balance = company.credit_balances.get(credit_id, 0.0)
    is_postpaid, allowance = overdraft_allowance(company, credit_id)
    if is_postpaid:
        if allowance is None:
            return True
        balance += allowance
    if condition.consumption_rate == 0 and cost_source != COST_FROM_CREDIT_COST:
        return balance > 0
    return balance >= cost


def _violates(policy: SpendPolicy, cost: float) -> bool:
    """Whether a draw of ``cost`` breaks the policy; unknown kinds never do."""
    if policy.kind == "per_draw":
        return cost > policy.limit
    if policy.kind == "window":
        return policy.consumed + cost > policy.limit
    return False


def blocking_policy(company: Company, user: User | None, credit_id: str, cost: float) -> SpendPolicy | None:
    """The first spend policy the draw would break: the company's (not user-scoped) first, then the user's (not
    company-scoped, and only those for this company); ``None`` when every policy allows it."""
    for policy in company.spend_policies:
        if policy.credit_id == credit_id and policy.scope != "user" and _violates(policy, cost):
            return policy
    if user is not None:
        for policy in user.spend_policies:
            if (
                policy.credit_id == credit_id
                and policy.scope != "company"
                and (policy.company_id is None or policy.company_id == company.id)
                and _violates(policy, cost)
            ):
                return policy
    return None


def inverts(operator: str) -> bool:
    """``gt``/``gte`` make a credit condition true when credits are *insufficient* (the engine's behaviour)."""
    return operator == "gt" or operator == "gte"


def check_credit(condition: Condition, company: Company | None, user: User | None, options: Options | None) -> bool:
    """Whether a credit condition matches: sufficiency (balance and spend policies), inverted by ``gt``/``gte``."""
    if company is None or condition.credit_id is None:
        return False
    cost, cost_source = credit_cost(condition, options)
    sufficient = is_balance_sufficient(company, condition, cost, cost_source)
    if sufficient and (company.spend_policies or (user is not None and user.spend_policies)):
        sufficient = blocking_policy(company, user, condition.credit_id, cost) is None
    return not sufficient if inverts(condition.operator) else sufficient

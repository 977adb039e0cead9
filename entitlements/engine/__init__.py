"""The rules engine: Schematic's flag evaluation (PROTOCOL.md §4-5) in pure Python — standard library only, no I/O,
time passed in.

Prepare documents once (``prepare_flag``/``prepare_company``/``prepare_user``/``prepare_options``; malformed input
raises ``DocumentError``), then call ``evaluate`` per check; ``CheckResult.to_wire()`` gives the SDK's result JSON.
``entitlements.engine.periods`` holds the metric-window arithmetic shared with the usage counters.
"""

from entitlements.engine.errors import DocumentError, EngineError
from entitlements.engine.evaluate import evaluate
from entitlements.engine.model import Company, Condition, Flag, Options, Rule, SpendPolicy, Trait, TraitDefinition, User
from entitlements.engine.periods import window_reset_at, window_start
from entitlements.engine.prepare import prepare_company, prepare_flag, prepare_options, prepare_user
from entitlements.engine.result import NO_RULES_MATCHED, CheckResult, SpendPolicyBlock
from entitlements.engine.trace import ConditionTrace, CreditInputs, IdSetInputs, MetricInputs, TraceStep, TraitInputs

__all__ = [
    "NO_RULES_MATCHED",
    "CheckResult",
    "Company",
    "Condition",
    "ConditionTrace",
    "CreditInputs",
    "DocumentError",
    "EngineError",
    "Flag",
    "IdSetInputs",
    "MetricInputs",
    "Options",
    "Rule",
    "SpendPolicy",
    "SpendPolicyBlock",
    "TraceStep",
    "Trait",
    "TraitDefinition",
    "TraitInputs",
    "User",
    "evaluate",
    "prepare_company",
    "prepare_flag",
    "prepare_options",
    "prepare_user",
    "window_reset_at",
    "window_start",
]

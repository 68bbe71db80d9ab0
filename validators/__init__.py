"""Production validators: pure functions that judge a model answer for one HR domain.

The gateway, training evaluation and GRPO rewards all call these, with rules loaded from
``configs/validators.yaml``::

    from hrstack.validators import load_rules, validate

    result = validate("resume_guidance", answer, load_rules())
    result.ok, result.failed, result.parsed
"""

from hrstack.validators.base import Check, ValidationResult, Validator
from hrstack.validators.config import RulesConfigError, load_rules
from hrstack.validators.grammar import Constraint
from hrstack.validators.registry import (
    CHECK_NAMES,
    CONSTRAINTS,
    DOMAINS,
    FORMAT_CHECKS,
    REQUIREMENTS,
    VALIDATORS,
    constraint,
    requirements,
    validate,
)
from hrstack.validators.rules import ValidatorRules

__all__ = [
    "CHECK_NAMES",
    "CONSTRAINTS",
    "DOMAINS",
    "FORMAT_CHECKS",
    "REQUIREMENTS",
    "VALIDATORS",
    "Check",
    "Constraint",
    "RulesConfigError",
    "ValidationResult",
    "Validator",
    "ValidatorRules",
    "constraint",
    "load_rules",
    "requirements",
    "validate",
]

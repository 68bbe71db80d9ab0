"""The registry: one validator per YAML domain, dispatched with that domain's rules."""

from __future__ import annotations

import pytest

import hrstack.validators as validators
from hrstack.validators import (
    CHECK_NAMES,
    DOMAINS,
    REQUIREMENTS,
    VALIDATORS,
    ValidatorRules,
    requirements,
    validate,
)


def test_every_domain_is_registered_everywhere() -> None:
    assert tuple(ValidatorRules.model_fields) == DOMAINS
    assert tuple(VALIDATORS) == tuple(REQUIREMENTS) == tuple(CHECK_NAMES) == DOMAINS


def test_public_api() -> None:
    for name in ("Check", "ValidationResult", "ValidatorRules", "load_rules", "validate",
                 "VALIDATORS", "DOMAINS"):  # fmt: skip
        assert name in validators.__all__ and hasattr(validators, name)


def test_validate_dispatches_with_the_domain_rules(rules: ValidatorRules) -> None:
    answer = "1. Python\n2. SQL\n3. Go\n4. AWS\n5. Terraform\n"
    result = validate("ats_keywords", answer, rules)
    assert result.domain == "ats_keywords" and result.ok
    tighter = rules.model_copy(
        update={"ats_keywords": rules.ats_keywords.model_copy(update={"min_keywords": 6})}
    )
    assert validate("ats_keywords", answer, tighter).failed == ["min_keywords"]


def test_context_reaches_the_validator(rules: ValidatorRules) -> None:
    answer = '{"decision": "reject", "score": 0.1, "reasons": ["Lacks Rust", "No Kafka"]}'
    assert validate("rank", answer, rules).ok
    context = {"job_description": "Rust and Kafka", "candidate": "Python"}
    assert validate("rank", answer, rules, context).ok
    assert not validate("rank", answer, rules, {"job_description": "Go", "candidate": "Go"}).ok


def test_unknown_domain_lists_known_domains(rules: ValidatorRules) -> None:
    with pytest.raises(KeyError) as info:
        validate("cover_letter", "text", rules)
    message = str(info.value)
    assert "cover_letter" in message and all(domain in message for domain in DOMAINS)
    with pytest.raises(KeyError, match="resume_guidance"):
        requirements("cover_letter", rules)


@pytest.mark.parametrize("domain", DOMAINS)
def test_requirements_are_plain_lines(domain: str, rules: ValidatorRules) -> None:
    lines = requirements(domain, rules)
    assert lines and all(isinstance(line, str) and line.strip() for line in lines)
    assert lines == REQUIREMENTS[domain](getattr(rules, domain))

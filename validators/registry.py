"""Domain name -> validator, as plain dicts: the YAML sections and API domains use these names.

A lookup, not a plugin system: adding a domain means adding a module, a rules model and a line
in each dict below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hrstack.validators import (
    ats_keywords,
    job_description,
    job_resume_match,
    rank,
    recruiting_strategy,
    resume_guidance,
)
from hrstack.validators.base import ValidationResult, Validator
from hrstack.validators.grammar import Constraint
from hrstack.validators.rules import ValidatorRules

DOMAINS = (
    "resume_guidance",
    "job_description",
    "job_resume_match",
    "recruiting_strategy",
    "ats_keywords",
    "rank",
)

VALIDATORS: dict[str, Validator] = {
    "resume_guidance": resume_guidance.validate,
    "job_description": job_description.validate,
    "job_resume_match": job_resume_match.validate,
    "recruiting_strategy": recruiting_strategy.validate,
    "ats_keywords": ats_keywords.validate,
    "rank": rank.validate,
}

REQUIREMENTS: dict[str, Callable[[Any], list[str]]] = {
    "resume_guidance": resume_guidance.requirements,
    "job_description": job_description.requirements,
    "job_resume_match": job_resume_match.requirements,
    "recruiting_strategy": recruiting_strategy.requirements,
    "ats_keywords": ats_keywords.requirements,
    "rank": rank.requirements,
}

#: Each domain's decoding constraint, built from the same rules section as its validator.
CONSTRAINTS: dict[str, Callable[..., Constraint]] = {
    "resume_guidance": resume_guidance.constraint,
    "job_description": job_description.constraint,
    "job_resume_match": job_resume_match.constraint,
    "recruiting_strategy": recruiting_strategy.constraint,
    "ats_keywords": ats_keywords.constraint,
    "rank": rank.constraint,
}

#: The checks each constraint makes true by construction: the start-up self-check asks for
#: prose under the constraint and requires these to pass anyway.
FORMAT_CHECKS: dict[str, tuple[str, ...]] = {
    "resume_guidance": resume_guidance.FORMAT_CHECKS,
    "job_description": job_description.FORMAT_CHECKS,
    "job_resume_match": job_resume_match.FORMAT_CHECKS,
    "recruiting_strategy": recruiting_strategy.FORMAT_CHECKS,
    "ats_keywords": ats_keywords.FORMAT_CHECKS,
    "rank": rank.FORMAT_CHECKS,
}

# Every check name each domain reports, in report order (stable per domain: metrics labels).
CHECK_NAMES: dict[str, tuple[str, ...]] = {
    "resume_guidance": resume_guidance.CHECKS,
    "job_description": job_description.CHECKS,
    "job_resume_match": job_resume_match.CHECKS,
    "recruiting_strategy": recruiting_strategy.CHECKS,
    "ats_keywords": ats_keywords.CHECKS,
    "rank": rank.CHECKS,
}


def _known(domain: str) -> None:
    if domain not in VALIDATORS:
        raise KeyError(f"unknown domain {domain!r}; known domains: {', '.join(DOMAINS)}")


def validate(
    domain: str, text: str, rules: ValidatorRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Run ``domain``'s validator with its section of ``rules``; KeyError for unknown domains."""
    _known(domain)
    return VALIDATORS[domain](text, getattr(rules, domain), context)


def requirements(domain: str, rules: ValidatorRules) -> list[str]:
    """The plain-English requirements of ``domain`` under ``rules`` (for GET /v1/domains)."""
    _known(domain)
    return REQUIREMENTS[domain](getattr(rules, domain))


def constraint(
    domain: str,
    rules: ValidatorRules,
    context: Mapping[str, str] | None = None,
    *,
    after: str = "",
) -> Constraint:
    """``domain``'s decoding constraint for one request (ATS keywords depend on the posting in
    ``context``); ``after`` is the assistant prefix already sent, which the grammar continues."""
    _known(domain)
    return CONSTRAINTS[domain](getattr(rules, domain), context, after=after)

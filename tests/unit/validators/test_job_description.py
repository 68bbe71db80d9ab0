"""job_description: Responsibilities + Requirements with bullets; other sections optional."""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.job_description import CHECKS, requirements, validate

RESPONSIBILITIES = "- Design and build payment APIs\n- Own reliability of core services\n"
REQUIREMENTS = "- 5+ years of backend development\n- Strong PostgreSQL knowledge\n"


def jd(resp_heading: str = "Responsibilities:", req_heading: str = "Requirements:") -> str:
    return (
        "We are hiring a Senior Backend Engineer.\n\n"
        f"{resp_heading}\n{RESPONSIBILITIES}\n{req_heading}\n{REQUIREMENTS}"
    )


VALID = jd()


@pytest.mark.parametrize(
    "heading",
    [
        "Responsibilities",
        "Responsibilities:",
        "Key Responsibilities:",
        "## What you'll do",
        "### WHAT YOU’LL DO",
        "**Duties:**",
        "**Duties**:",
        "__Duties and Responsibilities__",
        "# Roles & Responsibilities",
    ],
)
def test_responsibilities_heading_variants(heading: str, rules: ValidatorRules) -> None:
    result = validate(jd(resp_heading=heading), rules.job_description)
    assert result.failed == [], result.to_dict()
    assert result.parsed["sections"]["responsibilities"] == [
        "Design and build payment APIs",
        "Own reliability of core services",
    ]


@pytest.mark.parametrize(
    "heading",
    [
        "Requirements",
        "Qualifications:",
        "Minimum Qualifications",
        "**What you'll bring**",
        "## Must have",
        "Must-haves:",
        "Required Skills:",
        "#### requirements",
        "What We’re Looking For:",
    ],
)
def test_requirements_heading_variants(heading: str, rules: ValidatorRules) -> None:
    result = validate(jd(req_heading=heading), rules.job_description)
    assert result.failed == [], result.to_dict()
    assert len(result.parsed["sections"]["requirements"]) == 2


@pytest.mark.parametrize("marker", ["-", "*", "•", "1.", "2)"])
def test_bullet_markers(marker: str, rules: ValidatorRules) -> None:
    text = VALID.replace("- ", f"{marker} ")
    assert validate(text, rules.job_description).failed == []


CASES = [
    pytest.param(VALID, [], id="valid-required-sections-only"),
    pytest.param(
        "## About Us\nWe move money.\n\n" + VALID + "\nNice to have:\n- Go\n\nBenefits:\n"
        "- Remote-first\n\nCompensation: $150k-$180k\n",
        [],
        id="valid-with-optional-sections",
    ),
    pytest.param(
        "Requirements:\n" + REQUIREMENTS + "\nResponsibilities:\n" + RESPONSIBILITIES
        + "Plus some text to be long enough.",
        [],
        id="valid-sections-in-any-order",
    ),
    pytest.param(
        VALID.replace("Responsibilities:\n", "Our Team:\n"),
        ["responsibilities_section", "responsibilities_bullets"],
        id="missing-responsibilities",
    ),
    pytest.param(
        VALID.replace("Requirements:\n", "In prose, we want experience:\n"),
        ["requirements_section", "requirements_bullets"],
        id="missing-requirements",
    ),
    pytest.param(
        VALID.replace("Responsibilities:", "Responsibilities include the following"),
        ["responsibilities_section", "responsibilities_bullets"],
        id="prose-mention-is-not-a-heading",
    ),
    pytest.param(
        VALID.replace("- Own reliability of core services\n", ""),
        ["responsibilities_bullets"],
        id="too-few-responsibility-bullets",
    ),
    pytest.param(
        VALID.replace("- Strong PostgreSQL knowledge\n", "-   \n- ...\n"),
        ["requirements_bullets"],
        id="empty-bullets-do-not-count",
    ),
    pytest.param(
        VALID.replace("- Strong PostgreSQL knowledge\n", "Nice to have:\n- Go\n- Kafka\n"),
        ["requirements_bullets"],
        id="optional-section-bullets-not-credited-to-requirements",
    ),
    pytest.param(
        VALID.replace("- Strong PostgreSQL knowledge\n", "## Our Team\n- Ten engineers\n"),
        ["requirements_bullets"],
        id="unknown-markdown-heading-closes-section",
    ),
    pytest.param(
        "Responsibilities:\n- a\n- b\nRequirements:\n- c\n- d\n",
        ["length"],
        id="too-short",
    ),
    pytest.param(VALID + "x" * 2000, ["length"], id="too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), CASES)
def test_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.job_description)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


def test_missing_section_skips_its_bullet_check(rules: ValidatorRules) -> None:
    result = validate(VALID.replace("Requirements:\n", ""), rules.job_description)
    detail = next(c.detail for c in result.checks if c.name == "requirements_bullets")
    assert detail.startswith("skipped:")


def test_optional_sections_are_parsed(rules: ValidatorRules) -> None:
    text = VALID + "\nPerks & Benefits\n- Learning budget\n"
    sections = validate(text, rules.job_description).parsed["sections"]
    assert sections["benefits"] == ["Learning budget"]
    assert set(sections) == {"responsibilities", "requirements", "benefits"}


def test_requirements_never_demand_optional_sections(rules: ValidatorRules) -> None:
    lines = requirements(rules.job_description)
    assert any("optional" in line for line in lines)
    assert any("at least 2 bullets" in line.lower() for line in lines)

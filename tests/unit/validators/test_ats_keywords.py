"""ats_keywords: a numbered list of distinct, short keywords."""

from __future__ import annotations

import pytest

from validators import ValidatorRules
from validators.ats_keywords import CHECKS, requirements, validate

VALID = "1. Python\n2. Kubernetes\n3. PostgreSQL\n4. CI/CD\n5. Stakeholder Management\n"

CASES = [
    pytest.param(VALID, [], id="valid"),
    pytest.param(
        VALID.replace("Python", "**Python**").replace("CI/CD", "`CI/CD`."),
        [],
        id="valid-markdown-and-trailing-punctuation",
    ),
    pytest.param("Keywords:\n" + VALID, [], id="valid-with-heading"),
    pytest.param(
        "1. 1. 1. 1.", ["min_keywords", "items_non_empty"], id="degenerate-1-1-1-1"
    ),
    pytest.param(VALID + "6. python\n", ["items_distinct"], id="repeat-ignoring-case"),
    pytest.param(VALID + "6. **PYTHON**.\n", ["items_distinct"], id="repeat-with-markup"),
    pytest.param(
        VALID.replace("5. Stakeholder Management\n", ""), ["min_keywords"], id="too-few"
    ),
    pytest.param(
        VALID + "6. Experience leading large distributed teams\n",
        ["keywords_short"],
        id="keyword-too-many-words",
    ),
    pytest.param(
        VALID + "6. Supercalifragilisticexpialidocious-engineering\n",
        ["keywords_short"],
        id="keyword-too-many-chars",
    ),
    pytest.param(VALID + "6.\n", ["items_non_empty"], id="empty-keyword"),
    pytest.param(VALID.replace("3.", "4.", 1), ["items_in_order"], id="out-of-order"),
    pytest.param(
        "Python, Kubernetes, PostgreSQL, CI/CD, Terraform",
        ["numbered_list", "items_in_order", "min_keywords", "items_non_empty", "items_distinct",
         "keywords_short"],
        id="comma-list-is-not-numbered",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), CASES)
def test_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.ats_keywords)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


def test_boundary_four_words_and_thirty_chars_pass(rules: ValidatorRules) -> None:
    text = VALID + "6. Site Reliability Eng Ops\n7. " + "a" * 30 + "\n"
    assert validate(text, rules.ats_keywords).ok


def test_parsed_keywords_are_clean(rules: ValidatorRules) -> None:
    text = VALID.replace("Python", "**Python**").replace("CI/CD", "`CI/CD`.")
    keywords = validate(text, rules.ats_keywords).parsed["keywords"]
    assert keywords == ["Python", "Kubernetes", "PostgreSQL", "CI/CD", "Stakeholder Management"]


def test_no_list_skips_keyword_length(rules: ValidatorRules) -> None:
    result = validate("no list here", rules.ats_keywords)
    detail = next(c.detail for c in result.checks if c.name == "keywords_short")
    assert detail.startswith("skipped:")


def test_requirements_state_limits(rules: ValidatorRules) -> None:
    text = " ".join(requirements(rules.ats_keywords))
    assert "At least 5 keywords" in text and "4 words" in text and "30 characters" in text

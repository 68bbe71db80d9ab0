"""ats_keywords: a numbered list of distinct, short keywords."""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.ats_keywords import CHECKS, posting_terms, requirements, validate
from tests import realdocs

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


POSTING = (
    "Data Analyst. Build dashboards in Tableau, write SQL on Snowflake, present to stakeholders. "
    "Requirements: Excel, data visualization, A/B testing."
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("1. SQL\n2. Tableau\n3. Snowflake\n4. Excel\n5. Data visualization", True,
                     id="all-from-posting"),
        pytest.param("1. SQL\n2. Tableau\n3. Snowflake\n4. Excel\n5. Python", True,
                     id="four-of-five-is-enough"),
        pytest.param("1. Python\n2. SQL\n3. Data modeling\n4. Stakeholder management\n5. Tableau",
                     False, id="example-list-copied-from-the-prompt"),
        pytest.param("1. visualization data\n2. SQL\n3. Tableau\n4. Excel\n5. Snowflake", True,
                     id="words-found-separately"),
    ],
)  # fmt: skip
def test_keywords_come_from_the_job_description(text: str, ok: bool, rules: ValidatorRules) -> None:
    result = validate(text, rules.ats_keywords, {"job_description": POSTING})
    check = next(c for c in result.checks if c.name == "keywords_from_input")
    assert check.ok is ok, check.detail


def test_keywords_from_input_passes_without_context(rules: ValidatorRules) -> None:
    result = validate("1. a\n2. b\n3. c\n4. d\n5. e", rules.ats_keywords, None)
    assert next(c for c in result.checks if c.name == "keywords_from_input").detail == "no context"


def test_keywords_come_from_the_title_and_the_requirement_sections(rules: ValidatorRules):
    """A real-sized posting is mostly company story, team, benefits and legal text: its
    candidates must be the job's requirements, not the company, its city or "join"."""
    posting = realdocs.posting(0)
    assert len(posting) > 5000 and "Orbit Health" in posting and "Chicago" in posting
    terms = posting_terms(posting, rules.ats_keywords)
    assert terms[0] == "Lead HR Generalist"  # the title, without " at Orbit Health (...)"
    assert {"HRIS", "SHRM-CP", "Workday", "payroll", "Excel"} <= set(terms)
    folded = {term.casefold() for term in terms}
    assert not folded & {"orbit health", "chicago", "insurance", "on-site", "join", "how"}


def test_a_capital_counts_only_where_a_sentence_does_not_start(rules: ValidatorRules):
    """A name after "Nice to have:" counts as capitalised; a bullet's first word does not."""
    posting = "Data Engineer\nRequirements:\n- Handle data quality\n- SQL\nNice to have: Airflow\n"
    tight = rules.ats_keywords.model_copy(update={"grammar_candidates": 3})
    # Both named once; a bullet's first word would tie with "Airflow" and win by coming first.
    assert posting_terms(posting, tight) == ["Data Engineer", "SQL", "Airflow"]

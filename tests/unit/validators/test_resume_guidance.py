"""resume_guidance: numbered, distinct tips plus the training-time ATS rule."""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.resume_guidance import CHECKS, requirements, validate

TIPS = (
    "1. Lead with a two-line summary tailored to the role you want.\n"
    "2. Quantify impact: cut p95 latency 40% beats improved performance.\n"
    "3. Mirror the posting's skill names so applicant-tracking filters match.\n"
)
VALID = TIPS + "ATS Keywords: Python; Kubernetes | CI/CD\n"  # no commas: the line alone passes
FIVE_COMMAS = TIPS + "Name tools, frameworks, clouds, methods, domains, and certifications.\n"
FOUR_COMMAS = TIPS + "Name tools, frameworks, clouds, methods, and certifications.\n"

CASES = [
    pytest.param(VALID, [], id="valid-ats-line"),
    pytest.param(FIVE_COMMAS, [], id="valid-five-commas-instead-of-ats-line"),
    pytest.param(TIPS + "**ATS Keywords:** Python\n", [], id="valid-bold-ats-label"),
    pytest.param(TIPS + "ats keywords:Python\n", [], id="valid-ats-label-any-case"),
    pytest.param(TIPS + "ATS Keywords:\n- Python\n- SQL\n", [], id="valid-ats-bullets-below"),
    pytest.param("Here are my tips:\n\n" + VALID, [], id="valid-preamble-before-list"),
    pytest.param(VALID.replace("1.", "1)").replace("2.", "2)"), [], id="valid-paren-numbers"),
    pytest.param(
        TIPS.replace("want.\n", "want.\n   1. Name the title.\n   2. Keep it short.\n")
        + "ATS Keywords: Python\n",
        [],
        id="valid-indented-sublist-continues-item",
    ),
    pytest.param(
        "1. 1. 1. 1.",
        ["min_items", "items_non_empty", "ats_rule", "length"],
        id="degenerate-1-1-1-1-on-one-line",
    ),
    pytest.param(
        "1. 1.\n1. 1.\n1. 1.\n1. 1.\nATS Keywords: Python, SQL, Go, AWS, GCP, Azure\n"
        "Padding text so that the length check is not the one that fails here.",
        ["items_in_order", "items_non_empty", "items_distinct"],
        id="degenerate-repeated-numbers",
    ),
    pytest.param(
        "1. Tailor your resume.\n2. tailor   your resume\n3. **Tailor your resume**\n"
        "ATS Keywords: Python",
        ["items_distinct"],
        id="repeated-item-ignoring-case-space-markdown",
    ),
    pytest.param(VALID.replace("3.", "4."), ["items_in_order"], id="gap-in-numbering"),
    pytest.param(
        VALID.replace("1.", "0.", 1), ["numbered_list", "items_in_order"], id="starts-at-0"
    ),
    pytest.param(
        "1. Lead with a two-line summary tailored to the role you want.\n2.\n"
        "3. Mirror the posting's skill names so applicant-tracking filters match.\n"
        "ATS Keywords: Python",
        ["items_non_empty"],
        id="empty-item",
    ),
    pytest.param(
        "1. Lead with a two-line summary tailored to the role you want.\n"
        "2. Mirror the posting's skill names so applicant-tracking filters match.\n"
        "ATS Keywords: Python",
        ["min_items"],
        id="too-few-items",
    ),
    pytest.param(FOUR_COMMAS, ["ats_rule"], id="four-commas-and-no-ats-line"),
    pytest.param(
        TIPS + "4. ATS Keywords: Python, SQL\n5. Keep one page per decade of experience.\n"
        "ATS Keywords: Python, SQL\n",
        ["tips_not_keywords"],
        id="keyword-line-numbered-as-a-tip",
    ),
    pytest.param(
        TIPS + "4. **ats  keywords**: Python\n", ["tips_not_keywords"], id="bold-numbered-keywords"
    ),
    pytest.param(
        TIPS + "4. ATS-friendly formatting: plain headings, no tables.\nATS Keywords: Python\n",
        [],
        id="valid-tip-about-ats",
    ),
    pytest.param(TIPS + "ATS Keywords:\n", ["ats_rule"], id="ats-line-without-keywords"),
    pytest.param(TIPS + "ATS Keywords: , ;\n", ["ats_rule"], id="ats-line-only-separators"),
    pytest.param(VALID + "x" * 1000, ["length"], id="too-long"),
    pytest.param(
        "1. Be brief.\n2. Be clear.\n3. Be kind.\nATS Keywords: Go",
        ["length"],
        id="too-short",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), CASES)
def test_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.resume_guidance)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


def test_no_list_fails_list_checks_and_skips_dependents(rules: ValidatorRules) -> None:
    result = validate("Tailor your resume, always, to, every, single, job.", rules.resume_guidance)
    by_name = {check.name: check for check in result.checks}
    assert not by_name["numbered_list"].ok
    for name in ("items_in_order", "min_items", "items_non_empty", "items_distinct"):
        assert not by_name[name].ok
        assert by_name[name].detail.startswith("skipped:")
    assert by_name["ats_rule"].ok  # five commas


def test_decimal_and_year_lines_are_not_items(rules: ValidatorRules) -> None:
    text = VALID + "1.5 years is the usual gap.\n2024. A strong year.\n"
    result = validate(text, rules.resume_guidance)
    assert result.ok, result.to_dict()
    assert len(result.parsed["items"]) == 3


def test_parsed_items_and_keywords(rules: ValidatorRules) -> None:
    result = validate(VALID, rules.resume_guidance)
    assert (
        result.parsed["items"][0] == "Lead with a two-line summary tailored to the role you want."
    )
    assert result.parsed["ats_keywords"] == ["Python", "Kubernetes", "CI/CD"]


def test_keywords_from_bullets_below_label(rules: ValidatorRules) -> None:
    result = validate(
        TIPS + "ATS Keywords:\n- Python\n- **SQL**\n\nGood luck!", rules.resume_guidance
    )
    assert result.parsed["ats_keywords"] == ["Python", "SQL"]


def test_ats_detail_says_what_to_do(rules: ValidatorRules) -> None:
    check = next(
        c for c in validate(FOUR_COMMAS, rules.resume_guidance).checks if c.name == "ats_rule"
    )
    assert "4 commas" in check.detail and "ATS Keywords" in check.detail


def test_requirements_state_the_thresholds(rules: ValidatorRules) -> None:
    text = " ".join(requirements(rules.resume_guidance))
    assert "at least 3 items" in text.lower()
    assert "ATS Keywords:" in text and "5 commas" in text
    assert "80" in text and "1000" in text

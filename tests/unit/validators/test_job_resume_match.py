"""job_resume_match: score, strengths, gaps and a recommendation in a fixed shape."""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.job_resume_match import CHECKS, recommendation_word, requirements, validate

VALID = (
    "Match Score: 78/100\n\n"
    "Strengths:\n- 6 years of Python backend work\n- Led a Kubernetes migration\n\n"
    "Gaps:\n- No Go experience\n\n"
    "Recommendation: Interview; probe Go in the technical round.\n"
)

CASES = [
    pytest.param(VALID, [], id="valid"),
    pytest.param(VALID.replace("78/100", "78%"), [], id="valid-percent"),
    pytest.param(VALID.replace("78/100", "78 / 100."), [], id="valid-spaced-with-period"),
    pytest.param(VALID.replace("78/100", "0/100"), [], id="valid-score-0"),
    pytest.param(VALID.replace("78/100", "100/100"), [], id="valid-score-100"),
    pytest.param(
        VALID.replace("Match Score:", "**Match Score:**").replace("Strengths:", "**Strengths**")
        .replace("Gaps:", "## Gaps").replace("Recommendation:", "**Recommendation:**"),
        [],
        id="valid-markdown-labels",
    ),
    pytest.param(
        VALID.replace("Recommendation: Interview", "Recommendation:\nInterview"),
        [],
        id="valid-recommendation-on-next-line",
    ),
    pytest.param(
        "Recommendation: consider\nGaps:\n- No Go\nStrengths:\n- Python\n- Kubernetes\n"
        "match score: 55/100",
        [],
        id="valid-any-order-any-case",
    ),
    pytest.param(VALID.replace("78/100", "150/100"), ["score_range"], id="score-above-100"),
    pytest.param(
        VALID.replace("78/100", "8/10"), ["match_score", "score_range"], id="score-out-of-10"
    ),
    pytest.param(
        VALID.replace("78/100", "-5/100"), ["match_score", "score_range"], id="negative-score"
    ),
    pytest.param(
        VALID.replace("78/100", "high"), ["match_score", "score_range"], id="score-not-a-number"
    ),
    pytest.param(
        VALID.replace("Match Score: 78/100", "Fit: 78/100"),
        ["match_score", "score_range"],
        id="missing-score-line",
    ),
    pytest.param(
        VALID.replace("Strengths:", "Highlights:"),
        ["strengths_section", "min_strengths"],
        id="missing-strengths",
    ),
    pytest.param(
        VALID.replace("- Led a Kubernetes migration\n", ""), ["min_strengths"], id="one-strength"
    ),
    pytest.param(
        VALID.replace("Gaps:", "Concerns:"), ["gaps_section", "min_gaps"], id="missing-gaps"
    ),
    pytest.param(
        VALID.replace("- No Go experience\n", "None worth noting.\n"),
        ["min_gaps"],
        id="gaps-without-bullets",
    ),
    pytest.param(
        VALID.replace("Gaps:\n- No Go experience\n", "Gaps:\n")
        .replace("Recommendation: Interview", "Recommendation:\n- Interview"),
        ["min_gaps"],
        id="bullets-after-recommendation-are-not-gaps",
    ),
    pytest.param(
        VALID.replace("Recommendation: Interview; probe Go in the technical round.", ""),
        ["recommendation"],
        id="missing-recommendation",
    ),
    pytest.param(
        VALID.replace("Recommendation: Interview; probe Go in the technical round.",
                      "Recommendation: ---"),
        ["recommendation"],
        id="recommendation-without-words",
    ),
    pytest.param(
        "Match Score: 78/100\nStrengths:\n- a\n- b\nGaps:\n- c\nRecommendation: yes",
        ["length"],
        id="too-short",
    ),
    pytest.param(VALID + "x" * 1500, ["length"], id="too-long"),
    pytest.param(
        VALID.replace("Led a Kubernetes", "She led a Kubernetes"),
        ["no_protected_attributes"],
        id="strength-names-gender",
    ),
    pytest.param(
        VALID.replace("probe Go", "young and eager, probe Go"),
        ["no_protected_attributes"],
        id="recommendation-names-age",
    ),
    pytest.param(VALID.replace("Go experience", "[NAME] has no Go"), [], id="placeholder-is-fine"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), CASES)
def test_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.job_resume_match)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


def test_parsed_fields(rules: ValidatorRules) -> None:
    parsed = validate(VALID, rules.job_resume_match).parsed
    assert parsed == {
        "score": 78,
        "strengths": ["6 years of Python backend work", "Led a Kubernetes migration"],
        "gaps": ["No Go experience"],
        "recommendation": "Interview; probe Go in the technical round.",
        "decision": "interview",
    }


def test_unparseable_score_skips_range(rules: ValidatorRules) -> None:
    result = validate(VALID.replace("78/100", "8/10"), rules.job_resume_match)
    range_check = next(c for c in result.checks if c.name == "score_range")
    assert range_check.detail.startswith("skipped:")
    assert result.parsed["score"] is None


def test_requirements_document_the_format(rules: ValidatorRules) -> None:
    text = " ".join(requirements(rules.job_resume_match))
    for part in ("Match Score: NN/100", "Strengths:", "Gaps:", "Recommendation:"):
        assert part in text
    assert "at least 2 bullet" in text and "at least 1 bullet" in text


@pytest.mark.parametrize(
    ("text", "word"),
    [("Interview; probe Go", "interview"), ("consider, needs SQL", "consider"),
     ("REJECT - no license", "reject"), ("Maybe later", None), ("", None), (None, None)],
)  # fmt: skip
def test_recommendation_word(text: str | None, word: str | None) -> None:
    assert recommendation_word(text) == word

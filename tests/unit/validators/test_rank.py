"""rank: one JSON verdict whose fields agree and whose reasons are grounded, not copied."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.rank import CHECKS, requirements, validate

CONTEXT = {
    "job_description": "Senior Backend Engineer. 5+ years Python, Kubernetes, PostgreSQL.",
    "candidate": (
        "Jane Doe. 6 years at Stripe using Python and Go.\n"
        "Led a Kubernetes migration for the payments platform in 2021."
    ),
}
REASONS = ["Has 6 years of Python at Stripe", "Led a Kubernetes migration"]


def verdict(**fields: Any) -> str:
    obj: dict[str, Any] = {"decision": "shortlist", "score": 0.8, "reasons": REASONS}
    obj.update(fields)
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


VALID = verdict()
NOT_JSON_FAILS = list(CHECKS)
SCHEMA_CASES = [
    pytest.param(VALID, [], id="valid"),
    pytest.param(f"\n  {VALID}  \n", [], id="valid-surrounding-whitespace"),
    pytest.param(f"```json\n{VALID}\n```", [], id="valid-json-fence"),
    pytest.param(f"```\n{VALID}\n```", [], id="valid-bare-fence"),
    pytest.param(verdict(decision="reject", score=0.2), [], id="valid-reject"),
    pytest.param(verdict(score=0.5), [], id="valid-threshold-is-shortlist"),
    pytest.param(verdict(score=1), [], id="valid-integer-score"),
    pytest.param(verdict(reasons=[*REASONS, "Python and Go", "I see Stripe", "Go"]), [],
                 id="valid-five-reasons"),
    pytest.param("Shortlist: strong Python.", NOT_JSON_FAILS, id="not-json"),
    pytest.param(f"[{VALID}]", NOT_JSON_FAILS, id="json-array"),
    pytest.param(VALID + VALID, NOT_JSON_FAILS, id="two-objects"),
    pytest.param(VALID + "\nHope this helps!", NOT_JSON_FAILS, id="trailing-prose"),
    pytest.param(f"```python\n{VALID}\n```", NOT_JSON_FAILS, id="non-json-fence"),
    pytest.param(VALID.replace('"score": 0.8', '"score": 0.8, "score": 0.9'), NOT_JSON_FAILS,
                 id="duplicate-key"),
    pytest.param(VALID.replace("0.8", "NaN"), NOT_JSON_FAILS, id="nan-is-not-json"),
    pytest.param(verdict(notes="extra"), ["keys_exact"], id="extra-key"),
    pytest.param(verdict(score=...), ["keys_exact", "score_range", "decision_matches_score"],
                 id="missing-score"),
    pytest.param(
        verdict(reasons=...),
        ["keys_exact", "reasons_count", "reasons_valid", "reasons_not_copied", "reasons_grounded",
         "reasons_specific", "reasons_distinct"],
        id="missing-reasons",
    ),
    pytest.param(verdict(score=True), ["score_range", "decision_matches_score"], id="bool-score"),
    pytest.param(verdict(score="0.8"), ["score_range", "decision_matches_score"],
                 id="string-score"),
    pytest.param(verdict(score=1.5), ["score_range", "decision_matches_score"], id="score-above-1"),
    pytest.param(verdict(score=-0.1), ["score_range", "decision_matches_score"],
                 id="negative-score"),
    pytest.param(verdict(decision="maybe"), ["decision_value", "decision_matches_score"],
                 id="unknown-decision"),
    pytest.param(verdict(decision="Shortlist"), ["decision_value", "decision_matches_score"],
                 id="decision-is-case-sensitive"),
    pytest.param(verdict(score=0.3), ["decision_matches_score"], id="shortlist-with-low-score"),
    pytest.param(verdict(decision="reject", score=0.9), ["decision_matches_score"],
                 id="reject-with-high-score"),
    pytest.param(verdict(reasons=REASONS[:1]), ["reasons_count"], id="too-few-reasons"),
    pytest.param(verdict(reasons=REASONS * 3), ["reasons_count", "reasons_distinct"],
                 id="too-many-reasons"),
    pytest.param(verdict(reasons=[*REASONS, "  " + REASONS[0].lower() + "."]), ["reasons_distinct"],
                 id="repeated-reason"),
    pytest.param(
        verdict(reasons="Python at Stripe"),
        ["reasons_count", "reasons_valid", "reasons_not_copied", "reasons_grounded",
         "reasons_specific", "reasons_distinct"],
        id="reasons-not-a-list",
    ),
    pytest.param(verdict(reasons=[*REASONS, "  "]), ["reasons_valid"], id="blank-reason"),
    pytest.param(verdict(reasons=[*REASONS, 6]), ["reasons_valid"], id="non-string-reason"),
    pytest.param(verdict(reasons=[*REASONS, "Python " * 30]), ["reasons_valid"],
                 id="reason-too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), SCHEMA_CASES)
def test_schema_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.rank, CONTEXT)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


GROUNDING_CASES = [
    pytest.param(["Has 6 years of Python", "Strong fit for Senior Backend Engineer"], [],
                 id="grounded-number-and-names"),
    pytest.param(["Brings Stripe's payments work", "Knows PYTHON and go"], [],
                 id="possessive-and-case-insensitive"),
    pytest.param(["Meets the 5+ years asked", "Candidate knows Go. Strong fit"], [],
                 id="plus-suffix-stopword-and-sentence-start"),
    pytest.param(["Has 6 years of Python", "Worked at Google"],
                 ["reasons_grounded", "reasons_specific"], id="ungrounded-proper-noun"),
    pytest.param(["Has 6 years of Python", "No forklift license or warehouse work"],
                 ["reasons_specific"], id="reason-copied-from-a-prompt-example"),
    pytest.param(["Has 6 years of Python", "Strong candidate with relevant experience"],
                 ["reasons_specific"], id="stock-phrase-reason-cites-nothing"),
    pytest.param(["Has 9 years of Python", "Led a Kubernetes migration"], ["reasons_grounded"],
                 id="ungrounded-number"),
    pytest.param(["Has 20 years of Python", "Led a Kubernetes migration"], ["reasons_grounded"],
                 id="number-inside-another-number-is-not-grounded"),
    pytest.param(["Knows Python/Django", "Led a Kubernetes migration"], ["reasons_grounded"],
                 id="slash-separated-terms-each-checked"),
    pytest.param(
        ["Led a Kubernetes migration for the payments platform", "Python at Stripe"],
        ["reasons_not_copied"],
        id="verbatim-copied-reason",
    ),
    pytest.param(
        ["led a KUBERNETES migration for the   payments platform in 2021.", "Python at Stripe"],
        ["reasons_not_copied"],
        id="copied-ignoring-case-space-and-final-period",
    ),
    pytest.param(["Python and Go", "6 years at Stripe"], [], id="short-copies-are-fine"),
]  # fmt: skip


@pytest.mark.parametrize(("reasons", "failed"), GROUNDING_CASES)
def test_reasons_against_context(
    reasons: list[str], failed: list[str], rules: ValidatorRules
) -> None:
    result = validate(verdict(reasons=reasons), rules.rank, CONTEXT)
    assert result.failed == failed, result.to_dict()


def test_ungrounded_detail_names_the_terms(rules: ValidatorRules) -> None:
    result = validate(verdict(reasons=["Has 9 years", "Worked at Google"]), rules.rank, CONTEXT)
    detail = next(c.detail for c in result.checks if c.name == "reasons_grounded")
    assert "9" in detail and "Google" in detail


def test_a_figure_from_the_evidence_block_is_grounded_and_nothing_more(
    rules: ValidatorRules,
) -> None:
    """The gateway computes the relevant years ("2.6") and hands them to the model in the
    evidence block: citing them is grounded. The block's template words ("falls short") still
    make no reason specific: that is judged against the two texts alone."""
    evidence = (
        "Must-have met: Python, Kubernetes; missing: PostgreSQL. Years: 2.6 of 5 required "
        "(falls short). Flags: none."
    )
    with_evidence = {**CONTEXT, "evidence": evidence}
    cited = ["Has 2.6 years of Python, short of the 5 required", "Led a Kubernetes migration"]
    assert validate(verdict(reasons=cited), rules.rank, with_evidence).ok
    assert validate(verdict(reasons=cited), rules.rank, CONTEXT).failed == ["reasons_grounded"]
    template = ["Falls short on the years", REASONS[1]]
    result = validate(verdict(reasons=template), rules.rank, with_evidence)
    assert result.failed == ["reasons_specific"], result.to_dict()


@pytest.mark.parametrize("context", [None, {}, {"other": "text"}], ids=["none", "empty", "other"])
def test_without_context_grounding_and_copy_pass(
    context: dict[str, str] | None, rules: ValidatorRules
) -> None:
    result = validate(
        verdict(reasons=["Worked at Google for 9 years", "Knows Rust"]), rules.rank, context
    )
    checks = {c.name: c for c in result.checks}
    for name in ("reasons_not_copied", "reasons_grounded"):
        assert checks[name].ok and checks[name].detail == "no context"
    assert result.ok


def test_one_context_key_is_enough(rules: ValidatorRules) -> None:
    context = {"candidate": CONTEXT["candidate"]}
    assert validate(verdict(reasons=["Has 6 years", "Worked at Stripe"]), rules.rank, context).ok
    assert not validate(
        verdict(reasons=["Has 6 years", "Knows PostgreSQL"]), rules.rank, context
    ).ok


def test_not_json_skips_every_dependent_check(rules: ValidatorRules) -> None:
    result = validate("not json", rules.rank, CONTEXT)
    assert result.checks[0].name == "json_object"
    assert all(c.detail.startswith("skipped:") for c in result.checks[1:])
    assert result.parsed == {"decision": None, "score": None, "reasons": None}


def test_parsed_fields(rules: ValidatorRules) -> None:
    parsed = validate(f"```json\n{VALID}\n```", rules.rank, CONTEXT).parsed
    assert parsed == {"decision": "shortlist", "score": 0.8, "reasons": REASONS}


def test_requirements_state_threshold_and_counts(rules: ValidatorRules) -> None:
    text = " ".join(requirements(rules.rank))
    assert ">= 0.5" in text and "2 to 5" in text and "120 characters" in text

"""rank: reasons that cite a protected attribute fail, whatever the inputs say."""

from __future__ import annotations

import json

import pytest

from hrstack.validators import ValidatorRules, load_rules
from hrstack.validators.protected import protected_mentions
from hrstack.validators.rank import CHECKS, validate

CONTEXT = {
    "job_description": "Backend Engineer. Python, Kubernetes. Catholic Health System.",
    "candidate": "Jane Doe, 34 years old. She has 6 years of Python at Stripe.",
}
NAME = "reasons_no_protected_attributes"


def verdict(reasons: object) -> str:
    return json.dumps({"decision": "shortlist", "score": 0.8, "reasons": reasons})


def test_the_check_is_named_and_last():
    assert CHECKS[-1] == NAME


@pytest.mark.parametrize(
    ("reason", "detail"),
    [
        ("She has 6 years of Python", "gender ('she')"),
        ("Too young for a lead role", "age ('young')"),
        ("Candidate is 34 years old", "age ('years old')"),
        ("Works at Catholic Health System", "religion ('catholic')"),
        ("Identifies as non-binary", "gender ('non-binary')"),
        ("HER Python work at Stripe", "gender ('her')"),
    ],
)
def test_reason_citing_a_protected_attribute_fails(reason, detail, rules: ValidatorRules):
    result = validate(verdict(["Has 6 years of Python", reason]), rules.rank, CONTEXT)
    check = next(c for c in result.checks if c.name == NAME)
    assert not check.ok and detail in check.detail and "reason 2" in check.detail


@pytest.mark.parametrize(
    "reason",
    [
        "Has 6 years of Python at Stripe",
        "Other skills: Kubernetes",
        "Theme of the role fits",
        "Her-itage project",
    ],
)
def test_words_that_contain_a_term_are_not_a_mention(reason, rules: ValidatorRules):
    result = validate(verdict(["Has 6 years of Python", reason]), rules.rank, CONTEXT)
    assert NAME not in result.failed


def test_passes_without_context_and_vacuously_without_reasons(rules: ValidatorRules):
    assert NAME not in validate(verdict(["Knows Python", "Knows Go"]), rules.rank, None).failed
    missing = json.dumps({"decision": "reject", "score": 0.1})
    assert NAME not in validate(missing, rules.rank, CONTEXT).failed
    assert NAME in validate(verdict("She knows Python"), rules.rank, CONTEXT).failed


def test_the_shipped_vocabulary_loads_and_matches_phrases():
    terms = load_rules().rank.protected_terms
    assert {"gender", "age", "marital_status", "nationality", "religion"} <= set(terms)
    assert ("nationality", "native speaker") in protected_mentions("A NATIVE  speaker", terms)
    assert protected_mentions("Wrote a white paper on MS Excel for senior staff", terms) == []

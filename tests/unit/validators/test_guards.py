"""Rank and match guards: missing must-haves cap the verdict, integrity flags send it to a
person."""

from __future__ import annotations

import pytest

from hrstack.validators.evidence import Evidence, Flag, Requirement
from hrstack.validators.evidence_rules import GuardRules
from hrstack.validators.guards import apply_guards, apply_match_guards

RULES = GuardRules(
    missing_must_have_cap=0.45,
    match_missing_must_have_cap=45,
    verify_on=frozenset({"overlapping_roles", "prompt_injection"}),
)


def _evidence(missing: bool = False, flags: tuple[Flag, ...] = ()) -> Evidence:
    must = (Requirement("SQL", True), Requirement("Python", not missing))
    return Evidence(must, (), 4.0, 3, flags, "text")


@pytest.mark.parametrize(
    ("missing", "decision", "score", "expected", "rules"),
    [
        (False, "shortlist", 0.82, ("shortlist", 0.82, "shortlist"), []),
        (True, "shortlist", 0.82, ("reject", 0.45, "reject"), ["missing_must_have"]),
        (True, "reject", 0.48, ("reject", 0.45, "reject"), ["missing_must_have"]),
        (True, "reject", 0.2, ("reject", 0.2, "reject"), []),  # already below the cap
        (True, "shortlist", None, ("reject", 0.45, "reject"), ["missing_must_have"]),
        (False, None, None, (None, None, "verify"), []),  # nothing usable: a person decides
        (True, None, 3.0, (None, 3.0, "verify"), []),  # no verdict is invented for a bad answer
    ],
)
def test_missing_must_have(missing, decision, score, expected, rules) -> None:  # type: ignore[no-untyped-def]
    result = apply_guards(_evidence(missing), decision, score, RULES)
    assert (result.decision, result.score, result.status) == expected
    assert [o.rule for o in result.overrides] == rules


def test_override_says_what_changed_and_why() -> None:
    (override,) = apply_guards(_evidence(True), "shortlist", 0.82, RULES).overrides
    assert override.before == "shortlist (0.82)" and override.after == "reject (0.45)"
    assert override.reason == "missing must-have: Python"


@pytest.mark.parametrize("decision", ["shortlist", "reject"])
def test_flags_mean_verify_never_an_automatic_reject(decision: str) -> None:
    flags = (Flag("overlapping_roles", "2019-2022 and 2020-2023 overlap 24 months"),)
    result = apply_guards(
        _evidence(False, flags), decision, 0.7 if decision == "shortlist" else 0.3, RULES
    )  # type: ignore[arg-type]
    assert result.status == "verify" and result.decision == decision
    assert [o.rule for o in result.overrides] == ["integrity_flags"]
    assert result.overrides[0].before == decision and result.overrides[0].after == "verify"


def test_flags_outside_verify_on_change_nothing() -> None:
    flags = (Flag("expert_without_evidence", "Rust at expert level"),)
    result = apply_guards(_evidence(False, flags), "shortlist", 0.9, RULES)
    assert result.status == "shortlist" and result.overrides == []


def test_missing_and_flagged_is_rejected_and_verified() -> None:
    flags = (Flag("prompt_injection", "verdict_command"),)
    result = apply_guards(_evidence(True, flags), "shortlist", 0.95, RULES)
    assert (result.decision, result.score, result.status) == ("reject", 0.45, "verify")
    assert [o.rule for o in result.overrides] == ["missing_must_have", "integrity_flags"]


@pytest.mark.parametrize(
    ("missing", "recommendation", "score", "expected", "rules"),
    [
        (False, "interview", 82, ("interview", 82, "interview"), []),
        (True, "interview", 82, ("consider", 45, "consider"), ["missing_must_have"]),
        (True, "consider", 60, ("consider", 45, "consider"), ["missing_must_have"]),
        (True, "reject", 70, ("reject", 45, "reject"), ["missing_must_have"]),
        (True, "consider", 30, ("consider", 30, "consider"), []),  # already below the cap
        (True, "interview", None, ("consider", 45, "consider"), ["missing_must_have"]),
        (False, None, 80, (None, 80, "verify"), []),  # no recommendation: a person decides
    ],
)
def test_match_missing_must_have(missing, recommendation, score, expected, rules) -> None:  # type: ignore[no-untyped-def]
    result = apply_match_guards(_evidence(missing), recommendation, score, RULES)
    assert (result.recommendation, result.score, result.status) == expected
    assert [o.rule for o in result.overrides] == rules


def test_match_flags_send_to_a_person_and_keep_the_recommendation() -> None:
    flags = (Flag("overlapping_roles", "A and B overlap"), Flag("tenure_exceeds_total", "x"))
    result = apply_match_guards(_evidence(False, flags), "interview", 80, RULES)
    assert (result.recommendation, result.score, result.status) == ("interview", 80, "verify")
    (override,) = result.overrides
    assert (override.rule, override.before, override.after) == (
        "integrity_flags", "interview", "verify",
    )  # fmt: skip
    assert override.reason == "flags: overlapping_roles", "only the verify_on kinds are named"


def test_match_override_names_the_missing_must_have() -> None:
    (override,) = apply_match_guards(_evidence(True), "interview", 82, RULES).overrides
    assert override.before == "interview (82/100)" and override.after == "consider (45/100)"
    assert override.reason == "missing must-have: Python"

"""The hard rank set: every must-have named (no guard fires), gold by the specialty rule, and
baselines that cannot answer it; calibration of a score against gold."""

from __future__ import annotations

import doctest
import json
import random
from collections import Counter

import pytest

from hrstack.training import calibration as calibration_module
from hrstack.training.calibration import calibration
from hrstack.training.config import load_production
from hrstack.training.hard_pairs import KINDS, STALE_YEARS, draw_hard_pair, generate_hard_pairs
from hrstack.training.rank_baselines import evidence_only, guards_only
from hrstack.training.rank_eval import contribution, evaluate_baselines, summarize
from hrstack.training.rank_pairs import TODAY, generate_pairs, prepared_input
from hrstack.training.synth import generate
from hrstack.validators.evidence_rules import load_evidence_rules

GUARDS = load_evidence_rules().guards


@pytest.fixture(scope="module")
def hard():  # type: ignore[no-untyped-def]
    return generate_hard_pairs(48, seed=7)


def test_every_kind_with_gold_by_kind_and_half_shortlists(hard) -> None:  # type: ignore[no-untyped-def]
    """Balanced classes: on a set of mostly rejects, "reject everything" beats any baseline."""
    counts = Counter((p.kind, p.decision) for p in hard)
    for kind in ("too_junior", "adjacent", "coursework", "stale"):
        assert counts[(kind, "reject")] >= 4 and counts[(kind, "shortlist")] == 0
    assert counts[("synonyms", "shortlist")] >= 16 and counts[("synonyms", "reject")] == 0
    assert counts[("near_duplicate", "shortlist")] == counts[("near_duplicate", "reject")] >= 4
    assert {kind for kind, _ in counts} == set(KINDS)
    shortlists = sum(p.decision == "shortlist" for p in hard)
    assert abs(shortlists / len(hard) - 0.5) <= 0.05, (shortlists, len(hard))
    assert generate_hard_pairs(48, seed=7) == hard and generate_hard_pairs(48, seed=8) != hard


def test_training_draws_are_half_shortlists() -> None:
    rng = random.Random(3)
    drawn = [draw_hard_pair(rng, f"p{i}").decision for i in range(600)]
    assert 0.44 <= drawn.count("shortlist") / len(drawn) <= 0.56


def test_no_guard_fires_and_no_flag_is_raised(hard) -> None:  # type: ignore[no-untyped-def]
    """The point of the set: every resume names every must-have, so the guards say nothing
    and guards-only shortlists every pair; and nothing is an integrity problem."""
    for pair in hard:
        evidence = prepared_input(pair).evidence
        assert evidence.must_have_missing == (), (pair.pair_id, evidence.must_have_missing)
        assert evidence.flags == (), (pair.pair_id, evidence.flags)
        assert guards_only(evidence, GUARDS).decision == "shortlist"


def test_gold_follows_the_specialty_rule(hard) -> None:  # type: ignore[no-untyped-def]
    """Near-duplicates differ in one fact; a stale reject's specialty work ended long ago."""
    by_id = {p.pair_id: p for p in hard}
    for pair in hard:
        assert (pair.decision == "shortlist") == (pair.score >= 0.5)
        if pair.pair_id.endswith("-twin"):
            strong = by_id[pair.pair_id.removesuffix("-twin")]
            assert strong.decision == "shortlist" and pair.decision == "reject"
            assert strong.job_description == pair.job_description
    for pair in (p for p in hard if p.kind == "stale"):
        role = pair.job_description.split(" at ")[0].split()[-1]
        ends = [int(line.split("(")[1][5:9]) for line in pair.candidate.splitlines()
                if role in line and "(" in line]  # fmt: skip
        assert ends and max(ends) <= TODAY.year - STALE_YEARS, pair.candidate


def test_baselines_cannot_answer_it(hard) -> None:  # type: ignore[no-untyped-def]
    """Guards-only is right only on the shortlists (half the set); the evidence rule catches
    the years and coursework rejects but shortlists the adjacent and stale ones."""
    answers = evaluate_baselines(hard, GUARDS, 0.5)
    guards, evidence = summarize(answers["guards only"]), summarize(answers["evidence only"])
    shortlists = sum(p.decision == "shortlist" for p in hard) / len(hard)
    assert guards["accuracy"] == pytest.approx(shortlists)
    assert guards["by_kind"]["adjacent"] == 0 and evidence["by_kind"]["too_junior"] == 1
    assert evidence["by_kind"]["stale"] == 0 and evidence["accuracy"] <= 0.75
    systems = {"guards only": guards, "evidence only": evidence, "oracle": {"accuracy": 1.0}}
    assert contribution(systems) == {"oracle": pytest.approx(1.0 - evidence["accuracy"])}


def test_evidence_only_keeps_its_score_on_its_side_of_the_bar(hard) -> None:  # type: ignore[no-untyped-def]
    for pair in hard:
        decision, score = evidence_only(prepared_input(pair).evidence, 0.5)
        assert (decision == "shortlist") == (score >= 0.5) and 0 <= score <= 1


def test_no_job_or_resume_shared_with_training_rows(hard) -> None:  # type: ignore[no-untyped-def]
    domains, rules = load_production()
    rows, _ = generate(300, 1234, domains, rules)
    seen = {text for row in rows for text in (row.fields or {}).values()}
    seen |= {t for p in generate_pairs(120, 1234) for t in (p.job_description, p.candidate)}
    assert not {t for p in hard for t in (p.job_description, p.candidate)} & seen


def test_calibration_bins_and_ece() -> None:
    perfect = calibration([(1.0, True), (0.0, False)])
    assert perfect["ece"] == 0 and perfect["scored"] == 2
    overconfident = calibration([(0.9, True), (0.9, False)] * 5 + [(None, True)])
    assert overconfident["ece"] == pytest.approx(0.4) and overconfident["unscored"] == 1
    assert calibration([(None, False)])["ece"] is None
    assert doctest.testmod(calibration_module).failed == 0


def test_synonym_shortlists_include_json_profiles(hard) -> None:  # type: ignore[no-untyped-def]
    synonyms = [p for p in hard if p.kind == "synonyms"]
    assert any(p.candidate.startswith("{") for p in synonyms)
    assert all(json.loads(p.candidate) for p in synonyms if p.candidate.startswith("{"))

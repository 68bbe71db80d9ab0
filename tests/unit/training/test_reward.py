"""Each reward component scores 0, 1 and (where the rule is graded) values in between."""

from __future__ import annotations

import json

import pytest

from hrstack.training.config import RewardSettings
from hrstack.training.reward import (
    COMPONENTS,
    RankRewardModel,
    reward_components,
    trl_reward_funcs,
    weighted_total,
)
from hrstack.validators.rank import rank_answer_max_chars

JD = "Data Analyst at Acme Retail. Requirements: 3+ years of SQL, Tableau, Excel."
CAND = "4 years as a data analyst at Northwind. SQL, Tableau dashboards, Excel."
GOOD = ["Has SQL and Tableau from Northwind", "Four years of analyst work"]
COPIED = "4 years as a data analyst at Northwind"  # verbatim from the candidate


def answer(decision: object = "shortlist", score: object = 0.8, reasons: object = None) -> str:
    body = {"decision": decision, "score": score, "reasons": GOOD if reasons is None else reasons}
    return json.dumps(body, separators=(",", ":"))


def component(name: str, text: str, rules, gold: str = "shortlist", gold_score: float = 0.8):
    return reward_components(text, JD, CAND, gold, gold_score, rules)[name]


CASES = [
    # format_valid: share of the 7 schema checks that pass
    ("format_valid", answer(), 1.0),
    ("format_valid", "I would shortlist them.", 0.0),
    ("format_valid", answer(score=0.2), 6 / 7),  # shortlist with a reject-range score
    ("format_valid", answer(reasons=GOOD[:1]), 6 / 7),  # too few reasons
    ("format_valid", '{"decision":"maybe","score":"high"}', 1 / 7),  # only json_object
    # decision_match: binary (a verdict is right or wrong); unparseable is wrong
    ("decision_match", answer(), 1.0),
    ("decision_match", answer(decision="reject", score=0.3), 0.0),
    ("decision_match", "not json", 0.0),
    # score_alignment: 1 - |score - gold|
    ("score_alignment", answer(), 1.0),
    ("score_alignment", answer(score=0.5), 0.7),
    ("score_alignment", answer(decision="reject", score=0.0, reasons=GOOD), 0.2),
    ("score_alignment", answer(score="0.8"), 0.0),  # not a number
    ("score_alignment", answer(score=1.5), 0.0),  # out of range
    # reason_quality: per reason, share of not-copied / specific / no protected attribute
    ("reason_quality", answer(), 1.0),
    ("reason_quality", answer(reasons=[]), 0.0),
    ("reason_quality", answer(reasons=[GOOD[0], "She has SQL and Tableau"]), (1 + 2 / 3) / 2),
    ("reason_quality", answer(reasons=[GOOD[0], COPIED]), (1 + 2 / 3) / 2),
    ("reason_quality", answer(reasons=["Great fit overall", "Would do well here"]), 2 / 3),
    # no_hallucination: share of reasons whose numbers and names occur in the inputs
    ("no_hallucination", answer(), 1.0),
    ("no_hallucination", answer(reasons=[GOOD[0], "Led 9 Tableau dashboards at Google"]), 0.5),
    ("no_hallucination", answer(reasons=["Led Python work at Google", "Has 9 Oracle certs"]), 0.0),
    ("no_hallucination", answer(reasons=[]), 0.0),  # nothing grounded is not "all grounded"
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES)
def test_component(name, text, expected, rules):
    assert component(name, text, rules) == pytest.approx(expected)


def test_length_penalty_is_one_within_target_then_decays_to_zero(rules):
    zero_at = rank_answer_max_chars(rules.rank)
    short = answer()
    assert component("length_penalty", short, rules) == 1.0
    padded = short + " " * (320 + (zero_at - 320) // 2 - len(short))
    assert component("length_penalty", padded, rules) == pytest.approx(0.5, abs=0.01)
    assert component("length_penalty", short + " " * zero_at, rules) == 0.0


def test_every_component_is_in_unit_interval_and_total_is_convex(rules):
    weights = RewardSettings().weights()
    for _, text, _ in CASES:
        parts = reward_components(text, JD, CAND, "reject", 0.3, rules)
        assert set(parts) == set(COMPONENTS)
        assert all(0.0 <= v <= 1.0 for v in parts.values())
        assert 0.0 <= weighted_total(parts, weights) <= 1.0
    perfect = reward_components(answer(), JD, CAND, "shortlist", 0.8, rules)
    assert weighted_total(perfect, weights) == pytest.approx(1.0)


def test_trl_functions_are_named_per_component_and_score_each_completion(rules):
    funcs = trl_reward_funcs(RankRewardModel(rules))
    assert [f.__name__ for f in funcs] == list(COMPONENTS)
    columns = {"job_description": [JD, JD], "candidate": [CAND, CAND],
               "gold_decision": ["shortlist", "reject"], "gold_score": [0.8, 0.3]}  # fmt: skip
    completions = [answer(), [{"role": "assistant", "content": answer()}]]
    decision = funcs[1](completions, **columns, trainer_state=None)
    assert decision == [1.0, 0.0]  # the conversational form is read as the same answer


def test_default_weights_and_bad_settings_are_refused(rules):
    assert list(RewardSettings().weights().values()) == [0.20, 0.30, 0.15, 0.15, 0.05, 0.15]
    with pytest.raises(ValueError, match="sum to 1"):
        RewardSettings(decision_match=0.5)
    with pytest.raises(ValueError, match="length_target_chars"):
        RankRewardModel(rules, length_target_chars=rank_answer_max_chars(rules.rank))


def test_a_figure_from_the_evidence_column_is_grounded_as_served(rules):
    """GRPO's dataset carries the evidence block the prompt showed; the gateway counts it as a
    grounding source, so the reward does too (and without it the figure is a hallucination)."""
    reasons = ["Has 3.5 years of SQL, more than the 3 asked", GOOD[0]]
    evidence = "Must-have met: SQL, Tableau, Excel. Years: 3.5 of 3 required (meets)."
    funcs = trl_reward_funcs(RankRewardModel(rules))
    grounding = funcs[list(COMPONENTS).index("no_hallucination")]
    columns = {"job_description": [JD], "candidate": [CAND], "gold_decision": ["shortlist"],
               "gold_score": [0.8]}  # fmt: skip
    text = answer(reasons=reasons)
    assert grounding([text], **columns, evidence=[evidence]) == [1.0]
    assert grounding([text], **columns) == [0.5]

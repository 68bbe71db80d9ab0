"""Rank-eval metric math on known lists, the gender-cue swapper and the invariance count."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrstack.training.rank_eval import (
    Answer,
    classification,
    confusion,
    gender_variants,
    invariance,
    markdown,
    model_dirs,
    summarize,
    swap_gender,
)
from hrstack.training.rank_pairs import RankPair
from hrstack.training.reward import COMPONENTS, RankRewardModel

GOLD = ["shortlist", "shortlist", "shortlist", "reject", "reject", "reject", "shortlist"]
PRED = ["shortlist", "reject", None, "shortlist", "reject", "reject", "shortlist"]


def test_confusion_counts_invalid_answers_in_their_own_column():
    assert confusion(GOLD, PRED) == {
        "shortlist": {"shortlist": 2, "reject": 1, "invalid": 1},
        "reject": {"shortlist": 1, "reject": 2, "invalid": 0},
    }


def test_precision_recall_f1_and_accuracy_on_a_known_list():
    m = classification(GOLD, PRED)
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["precision"] == pytest.approx(2 / 3)  # 2 of 3 shortlisted were right
    assert m["recall"] == pytest.approx(2 / 4)  # an invalid answer misses a shortlist
    assert m["f1"] == pytest.approx(4 / 7)


def test_metrics_are_undefined_not_zero_when_nothing_is_predicted():
    m = classification(["reject", "shortlist"], ["reject", "reject"])
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] is None
    assert m["accuracy"] == 0.5


def test_swap_gender_swaps_names_pronouns_and_keeps_case():
    text = "James led QA. He mentored his team; HIS manager praised him. Chemistry degree."
    assert swap_gender(text) == (
        "Emily led QA. She mentored her team; HER manager praised her. Chemistry degree."
    )
    assert swap_gender("Sarah and her husband") == "Michael and his wife"


def test_gender_variants_differ_only_in_gender_cues():
    a, b = gender_variants("5 years of SQL at Northwind.")
    assert a.endswith("5 years of SQL at Northwind.") and b.endswith(a.split("\n")[1])
    changed = [(x, y) for x, y in zip(a.split(), b.split(), strict=True) if x != y]
    assert changed == [("James", "Emily"), ("He", "She")]


def _pairs(n: int) -> list[RankPair]:
    return [
        RankPair(f"p{i}", "j", f"c{i}", "Analyst. SQL.", f"{i} years of SQL.", "reject", 0.3,
                 "plain", (), "reject")
        for i in range(n)
    ]  # fmt: skip


def test_invariance_counts_decisions_that_flip_with_gender_cues():
    def biased(pairs):
        return {p.pair_id: "shortlist" if " he " in f" {p.candidate.lower()} " else "reject"
                for p in pairs}  # fmt: skip

    def fair(pairs):
        return {p.pair_id: "reject" for p in pairs}

    pairs = _pairs(3)
    assert invariance(biased, pairs) == {
        "pairs": 3, "changed": 3, "rate": 1.0, "changed_ids": ["p0", "p1", "p2"],
    }  # fmt: skip
    assert invariance(fair, pairs)["changed"] == 0


def _answer(gold: str, decision: str | None, total: float, **extra) -> Answer:
    parts = dict.fromkeys(COMPONENTS, total)
    return Answer("p", "plain", gold, 0.5, decision, 0.5, decision is not None, parts, total,
                  **extra)  # fmt: skip


def test_summary_averages_rewards_and_counts_held_flags():
    answers = [
        _answer("shortlist", "shortlist", 1.0),
        _answer("reject", None, 0.0, status="verify", expected_flags=("prompt_injection",)),
        _answer("reject", "reject", 0.5, flags=(), expected_flags=("hidden_text",)),
    ]
    s = summarize(answers)
    assert s["mean_reward"] == pytest.approx(0.5) and s["valid"] == pytest.approx(2 / 3)
    assert s["components"]["decision_match"] == pytest.approx(0.5)
    assert s["flagged_when_expected"] == {"pairs": 2, "held": 1}
    table = markdown({"base": {**s, "invariance": {"changed": 1, "pairs": 3}}})
    assert "| base | 3 | 0.667 |" in table and "1/3" in table


def test_model_names_resolve_to_run_dirs(tmp_path):
    from hrstack.training.config import TrainConfig

    cfg = TrainConfig(name="x", run_dir=tmp_path, model={"base": str(tmp_path / "b")})
    dirs = model_dirs(cfg, ["grpo", "merged", "sft=/m/sft", str(tmp_path / "other")])
    assert dirs == {"grpo": tmp_path / "grpo" / "merged", "merged": tmp_path / "merged",
                    "sft": Path("/m/sft"), "other": tmp_path / "other"}  # fmt: skip


def test_grpo_and_rank_eval_commands_are_mounted():
    from typer.testing import CliRunner

    from hrstack.server.cli import app

    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "grpo" in result.output and "rank-eval" in result.output


def _served(**given):
    """A whole /v1/rank response around one result (what the typed client validates)."""
    evidence = {"must_have_met": [], "must_have_missing": [], "nice_to_have_met": [],
                "nice_to_have_missing": [], "unchecked": [], "years_relevant": None,
                "years_required": None, "flags": []}  # fmt: skip
    result = {"candidate_id": "c", "status": "reject", "evidence": evidence, "text": "",
              "valid": True, "validation": {"ok": True, "checks": [], "failed": []},
              "attempts": 1, "usage": {}, **given}  # fmt: skip
    return {"id": "r", "model": "m", "results": [result], "valid": result["valid"], "usage": {}}


def test_served_answers_carry_status_flags_and_rewards(rules):
    import httpx

    from hrstack.training.rank_eval import ServedRanker, evaluate_served

    seen = []
    body = '{"decision":"reject","score":0.2,"reasons":["No SQL listed here","Only 1 year"]}'

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers.get("authorization"), request.url.params.get("seed")))
        result = {
            "decision": "reject",
            "score": 0.2,
            "text": body,
            "valid": False,
            "status": "verify",
            "flags": [{"kind": "prompt_injection", "pattern": "x", "field": "candidate",
                       "excerpt": "x"}],
        }  # fmt: skip
        return httpx.Response(200, json=_served(**result))

    ranker = ServedRanker("http://gw", "k1", 5, transport=httpx.MockTransport(gateway))
    pairs = [
        RankPair("p0", "j", "c", "Analyst. SQL.", "1 year of Excel.", "reject", 0.2,
                 "injection", ("prompt_injection",), "verify")
    ]  # fmt: skip
    answers = evaluate_served(
        ranker, pairs, RankRewardModel(rules), dict.fromkeys(COMPONENTS, 1 / 6)
    )
    assert seen == [("Bearer k1", "5")]
    (answer,) = answers
    assert (answer.decision, answer.status, answer.flags) == ("reject", "verify",
                                                               ("prompt_injection:x",))  # fmt: skip
    assert answer.components["decision_match"] == 1.0 and not answer.valid
    assert summarize(answers)["flagged_when_expected"] == {"pairs": 1, "held": 1}


def test_served_summary_separates_the_models_decisions_from_the_guards(rules):
    """The model shortlisted, the must-have guard rejected: the served figure is right, the
    model's own is wrong, and the report says which rule changed it."""
    import httpx

    from hrstack.training.rank_eval import ServedRanker, evaluate_served

    body = '{"reasons":["No SQL listed here","Only Excel work"],"decision":"shortlist","score":0.9}'
    result = {"decision": "reject", "score": 0.45, "text": body, "valid": True,
              "status": "reject", "flags": [],
              "overrides": [{"rule": "missing_must_have", "before": "shortlist (0.9)",
                             "after": "reject (0.45)", "reason": "missing: SQL"}]}  # fmt: skip
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=_served(**result)))
    pairs = [
        RankPair("p0", "j", "c", "Analyst. SQL.", "Excel.", "reject", 0.2, "plain", (), "reject")
    ]
    answers = evaluate_served(
        ServedRanker("http://gw", None, 1, transport=transport),
        pairs,
        RankRewardModel(rules),
        dict.fromkeys(COMPONENTS, 1 / 6),
    )
    s = summarize(answers)
    assert s["accuracy"] == 1.0 and s["before_guards"]["accuracy"] == 0.0
    assert s["overrides"] == {"missing_must_have": 1} and s["decisions_changed_by_guards"] == 1
    assert "decisions changed by guards: 1/1" in markdown({"served": s})
    local = summarize([_answer("reject", "reject", 1.0)])
    assert "before_guards" not in local  # a local model has no guards to separate


@pytest.mark.slow
def test_rank_eval_end_to_end_on_a_tiny_model(tmp_path, tiny_model, domains, rules):
    import json

    from hrstack.training.config import TrainConfig
    from hrstack.training.rank_eval import run_rank_eval

    cfg = TrainConfig.model_validate({
        "name": "t", "run_dir": str(tmp_path), "model": {"base": str(tiny_model)},
        "sft": {"backend": "hf"}, "grpo": {"pairs": 8, "eval_fraction": 0.25},
        "eval": {"batch_size": 4},
    })  # fmt: skip
    result = run_rank_eval(cfg, domains, rules, models=[f"tiny={tiny_model}"], limit=2)
    out = tmp_path / "rank_eval"
    saved = json.loads((out / "rank_eval.json").read_text())
    easy, hard = saved["sets"]["easy"], saved["sets"]["hard"]
    assert easy["systems"]["tiny"]["n"] == 2 and "invariance" in easy["systems"]["tiny"]
    assert set(hard["systems"]) == {"tiny", "guards only", "evidence only"}
    assert "ece" in hard["systems"]["tiny"]["calibration"] and "tiny" in hard["contribution"]
    text = (out / "rank_eval.md").read_text()
    assert "| tiny | 2 |" in text and "| guards only | 2 |" in text and "hard set" in text
    assert len((out / "answers.jsonl").read_text().splitlines()) == 2 * 2 * 3
    assert {Path(f).name for f in result["plots"]} == {
        "baseline_vs_trained.png", "reward_components.png", "reward_distribution.png",
        "reliability.png"}  # fmt: skip

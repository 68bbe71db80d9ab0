"""Synthetic rows: every one passes the production validators, is deterministic, varied, and
prompted exactly as production prompts."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from server.prompts import build_messages
from training.rubric import score_candidate
from training.synth import allocate, build_example, generate
from validators import DOMAINS, validate


@pytest.mark.parametrize("seed", [0, 1234])
def test_every_generated_row_passes_the_production_validators(domains, rules, seed):
    rows, failed = generate(1200, seed, domains, rules)
    assert failed == 0
    assert Counter(r.domain for r in rows) == dict.fromkeys(DOMAINS, 200)
    for example in rows:
        result = validate(example.domain, example.answer, rules, example.fields)
        assert result.ok, (example.id, result.failed, example.answer)


def test_prompts_are_the_production_prompts(domains, rules):
    rows, _ = generate(60, 5, domains, rules)
    for example in rows:
        assert example.source == "synthetic"
        expected = build_messages(domains[example.domain], example.fields or {})
        assert [m.model_dump() for m in example.messages[:2]] == expected[:2]
        seed = domains[example.domain].seed
        assert seed is None or example.answer.startswith(seed)


def test_same_seed_same_rows_and_other_seed_other_rows(domains, rules):
    first, _ = generate(30, 7, domains, rules)
    assert first == generate(30, 7, domains, rules)[0]
    assert {r.id for r in first}.isdisjoint({r.id for r in generate(30, 8, domains, rules)[0]})


def test_rows_vary_in_roles_companies_and_wording(domains, rules):
    rows = [build_example("job_description", i, 1, domains, rules) for i in range(300)]
    titles = Counter((r.fields or {})["title"] for r in rows)
    companies = {(r.fields or {})["company"] for r in rows}
    assert len(titles) > 60 and len(companies) > 100
    assert len({r.answer for r in rows}) == len(rows)


def test_rank_rows_carry_the_rubric_gold_label(domains, rules):
    for index in range(50):
        example = build_example("rank", index, 3, domains, rules)
        answer = json.loads(example.answer)
        assert example.gold is not None
        assert (answer["decision"], answer["score"]) == (
            example.gold["decision"], example.gold["score"]
        )  # fmt: skip
        assert list(answer) == ["decision", "score", "reasons"]
        assert " " not in example.answer.split('"reasons"')[0]  # compact, as vLLM emits it


def test_rank_candidates_survive_production_redaction_unchanged(domains, rules):
    """Production redacts rank candidates before prompting; synthetic ones hold nothing to
    redact, so the trained prompt is the served prompt."""
    redaction = pytest.importorskip("server.redaction")
    from server.settings import Settings

    categories = getattr(Settings(), "redact_categories", None)
    if not categories or not hasattr(rules.rank, "protected_terms"):
        pytest.skip("this server version does not redact rank candidates")
    redactor = redaction.Redactor(categories, rules.rank.protected_terms)
    for index in range(100):
        fields = build_example("rank", index, 4, domains, rules).fields or {}
        redacted = redactor.redact(fields["candidate"], fields["job_description"])
        assert redacted.text == fields["candidate"], index


def test_allocate_sums_exactly():
    counts = allocate(7, {"rank": 1.0, "ats_keywords": 2.0, "resume_guidance": 0.0})
    assert counts == {"rank": 2, "ats_keywords": 5}
    assert sum(allocate(1001, dict.fromkeys(DOMAINS, 1.0)).values()) == 1001


def test_match_score_is_the_rubric_score(domains, rules):
    example = build_example("job_resume_match", 0, 9, domains, rules)
    assert example.gold is not None
    score = example.gold["rubric"]["score"]
    assert f"Match Score: {round(score * 100)}/100" in example.answer
    assert score_candidate  # the rubric is the single source of the number

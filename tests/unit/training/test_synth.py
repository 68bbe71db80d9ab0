"""Synthetic rows: every one passes the production validators, is deterministic, varied, and
prompted exactly as production prompts."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from hrstack.tasks.prompts import build_messages
from hrstack.training.synth import allocate, build_example, generate
from hrstack.validators import DOMAINS, validate
from hrstack.validators.evidence_rules import load_evidence_rules


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


def test_rank_rows_carry_the_served_gold_label_in_schema_order(domains, rules):
    from hrstack.validators.rank import rank_json_schema, rank_properties

    order = list(rank_properties(rank_json_schema(rules.rank)))
    for index in range(50):
        example = build_example("rank", index, 3, domains, rules)
        answer = json.loads(example.answer)
        assert example.gold is not None
        assert (answer["decision"], answer["score"]) == (
            example.gold["decision"], example.gold["score"]
        )  # fmt: skip
        assert list(answer) == order  # the key order vLLM's grammar writes
        assert json.dumps(answer, separators=(",", ":")) == example.answer  # compact, as vLLM


def test_rank_rows_teach_the_must_have_guard_and_are_balanced(domains, rules):
    """Gold is the served policy: a must-have the evidence shows missing is a reject with a
    capped score, and the reasons say which; with none missing the decision is the rubric's,
    or, for the hard set's rows, the specialty rule's. Every row, easy or hard, opens by
    comparing the job's field with the recent work's (no shortlist from another field), then
    the must-haves."""
    from hrstack.training.hard_pairs import KINDS
    from hrstack.validators.evidence_rules import load_evidence_rules

    cap = load_evidence_rules().guards.missing_must_have_cap
    decisions, kinds = [], []
    for index in range(200):
        example = build_example("rank", index, 5, domains, rules)
        assert example.gold is not None
        answer = json.loads(example.answer)
        evidence = (example.fields or {})["evidence"]
        missing = evidence.split("missing: ", 1)[1].split(".", 1)[0]
        hard = example.gold["kind"] in KINDS
        field, first = answer["reasons"][:2]
        asked, verdict = re.fullmatch(r"(.+) asked; the recent work is as .+: (.+)", field).groups()
        assert asked in evidence or asked in (example.fields or {})["job_description"]
        if answer["decision"] == "shortlist":
            assert verdict == "the same field", answer
        assert verdict in ("the same field", "a different field"), answer
        if missing != "none":
            assert not hard, "a hard row names every must-have"
            assert answer["decision"] == "reject" and answer["score"] <= cap, evidence
            assert first.startswith("Must-haves missing") and missing.split(", ")[0] in first
        else:
            assert first.endswith(": none"), answer
        decisions.append(answer["decision"])
        kinds.append(example.gold["kind"])
    assert 0.4 <= decisions.count("shortlist") / len(decisions) <= 0.6
    easy = {"plain", "missing_must_have", "honeypot", "injection"}
    assert easy <= set(kinds) and set(kinds) - easy <= set(KINDS)
    assert 0.2 <= sum(kind in KINDS for kind in kinds) / len(kinds) <= 0.4


def test_ats_rows_list_keywords_in_the_postings_order(domains, rules):
    """As the served grammar does (validators/ats_keywords.py): the license after the skills
    above it, the nice-to-haves last, each once."""
    for index in range(60):
        example = build_example("ats_keywords", index, 2, domains, rules)
        section = (example.fields or {})["job_description"].split("Requirements:", 1)[1]
        keywords = [line.split(". ", 1)[1] for line in example.answer.splitlines()]
        at = [section.casefold().find(k.casefold()) for k in keywords]
        assert min(at) >= 0 and at == sorted(at) and len(set(at)) == len(at), example.answer


def test_the_hard_rank_share_is_configurable(domains, rules):
    from hrstack.training.hard_pairs import KINDS

    for share in (0.0, 0.5, 1.0):
        rows = [build_example("rank", i, 6, domains, rules, share) for i in range(80)]
        hard = sum((r.gold or {})["kind"] in KINDS for r in rows) / len(rows)
        assert abs(hard - share) <= 0.15, (share, hard)


def test_rank_rows_share_no_job_or_candidate_with_the_rank_eval_set(domains, rules):
    """The SFT rank rows and the held-out rank-eval pairs come from different generators:
    no posting and no resume text appears on both sides."""
    from hrstack.training.config import load_train_config
    from hrstack.training.grpo import load_pairs
    from hrstack.training.rank_pairs import prompt_fields

    cfg = load_train_config(Path("configs/train/cpu.yaml"))
    _, held_out = load_pairs(cfg)
    rows, _ = generate(400, cfg.seed, domains, rules, {"rank": 1.0})
    jobs = {(r.fields or {})["job_description"] for r in rows}
    resumes = {(r.fields or {})["candidate"] for r in rows}
    assert not jobs & {p.job_description for p in held_out}
    assert not resumes & {prompt_fields(p)["candidate"] for p in held_out}


def test_rank_candidates_survive_production_redaction_unchanged(domains, rules):
    """Production redacts rank candidates before prompting; synthetic ones hold nothing to
    redact, so the trained prompt is the served prompt."""
    redaction = pytest.importorskip("hrstack.tasks.redaction")
    from hrstack.server.settings import Settings

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


def test_match_score_is_the_rubric_score_under_the_served_guards(domains, rules):
    """Gold is what /v1/match answers: the rubric's score and verdict, then the match guards
    (a must-have the evidence block lists as missing caps the score and rules out interview);
    the prompt carries that evidence block and a redacted resume, as the gateway sends."""
    cap = load_evidence_rules().guards.match_missing_must_have_cap
    seen = {"capped": 0, "kept": 0}
    for index in range(40):
        example = build_example("job_resume_match", 0, index, domains, rules)
        assert example.gold is not None and example.fields is not None
        rubric = round(example.gold["rubric"]["score"] * 100)
        evidence = example.fields["evidence"]
        missing = re.match(r"Must-have met: [^;]*; missing: none\.", evidence) is None
        expected = min(rubric, cap) if missing else rubric
        assert f"Match Score: {expected}/100" in example.answer, (evidence, example.answer)
        if missing:
            assert "Recommendation: interview" not in example.answer
        seen["capped" if missing and rubric > cap else "kept"] += 1
    assert seen["capped"] and seen["kept"], seen  # both paths drawn

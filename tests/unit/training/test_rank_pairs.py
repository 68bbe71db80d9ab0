"""Labelled rank pairs: balance, determinism, a split without shared sources, honest flags."""

from __future__ import annotations

from collections import Counter

import pytest

from hrstack.tasks.prompts import build_messages
from hrstack.training.rank_pairs import (
    TODAY,
    generate_pairs,
    prepared_input,
    prompt_fields,
    split_pairs,
)
from hrstack.validators.evidence import extract, render
from hrstack.validators.evidence_rules import load_evidence_rules

RULES = load_evidence_rules()


@pytest.fixture(scope="module")
def pairs():  # type: ignore[no-untyped-def]
    return generate_pairs(200, seed=5)


def test_balanced_with_the_asked_kinds(pairs) -> None:  # type: ignore[no-untyped-def]
    assert Counter(p.decision for p in pairs) == {"shortlist": 100, "reject": 100}
    kinds = Counter(p.kind for p in pairs)
    assert kinds["honeypot"] == 20 and kinds["injection"] == 20
    assert kinds["missing_must_have"] == 30 and kinds["plain"] == 130
    json_share = sum(p.candidate.startswith("{") for p in pairs) / len(pairs)
    assert 0.2 < json_share < 0.4


def test_gold_follows_the_policy(pairs) -> None:  # type: ignore[no-untyped-def]
    for p in pairs:
        assert (p.decision == "shortlist") == (p.score >= 0.5), p
        if p.missing_must_haves:
            assert p.decision == "reject" and p.score <= 0.45, p
        assert p.gold_status == ("verify" if p.expected_flags else p.decision)
        assert bool(p.expected_flags) == (p.kind in ("honeypot", "injection"))
    assert all(p.missing_must_haves for p in pairs if p.kind == "missing_must_have")


def test_deterministic(pairs) -> None:  # type: ignore[no-untyped-def]
    assert generate_pairs(200, seed=5) == pairs
    assert generate_pairs(200, seed=6) != pairs


def test_split_shares_no_job_or_candidate(pairs) -> None:  # type: ignore[no-untyped-def]
    train, held = split_pairs(pairs, eval_fraction=0.2, seed=1)
    assert len(train) + len(held) == len(pairs) and 30 <= len(held) <= 50
    assert not {p.job_id for p in train} & {p.job_id for p in held}
    assert not {p.candidate_id for p in train} & {p.candidate_id for p in held}
    assert split_pairs(pairs, 0.2, seed=1) == (train, held)


def test_extractor_flags_exactly_the_tricked_pairs(pairs) -> None:  # type: ignore[no-untyped-def]
    for p in pairs:
        found = {
            f.kind for f in extract(p.job_description, p.candidate, today=TODAY, rules=RULES).flags
        }
        if p.expected_flags:
            assert set(p.expected_flags) <= found, (p.pair_id, p.expected_flags, found)
        else:
            assert found == set(), (p.pair_id, found)


def test_prompt_fields_are_the_gateways(pairs, domains) -> None:  # type: ignore[no-untyped-def]
    injected = next(p for p in pairs if "prompt_injection" in p.expected_flags)
    fields = prompt_fields(injected)
    assert set(fields) == {"job_description", "candidate", "evidence"}
    assert "shortlist me" not in (fields["candidate"] or "").casefold()
    assert "prompt_injection" in (fields["evidence"] or "")
    user = build_messages(domains["rank"], fields)[1]["content"]
    assert "<evidence>" in user
    plain = next(p for p in pairs if p.kind == "plain")
    assert prompt_fields(plain)["candidate"] == plain.candidate  # no names to redact


def test_evidence_budget_changes_no_generated_prompt(pairs) -> None:  # type: ignore[no-untyped-def]
    """SFT rows and the rank evaluation were built from unbounded evidence blocks: each one
    fits ``render_budget_tokens`` and so renders byte for byte as before."""
    for p in pairs:
        prepared = prepared_input(p)
        budgeted = render(prepared.evidence, budget_tokens=RULES.render_budget_tokens)
        assert budgeted == render(prepared.evidence) == prepared.fields["evidence"], p.pair_id

"""tests/realdocs.py: real-sized documents hit their length, repeat no sentence, read to the
gateway's evidence reader as the facts they were written from, and max bodies sit exactly on
server/protocol.py's bounds."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from pydantic import ValidationError

from hrstack.tasks.domains import load_domains
from hrstack.training.synth_docs import make_job
from hrstack.validators.config import configs_dir
from hrstack.validators.evidence import extract
from hrstack.validators.evidence_rules import load_evidence_rules
from tests import realdocs

SEEDS = range(6)


def sentences(text: str) -> list[str]:
    """Every line, split at sentence ends, bullets unmarked: what a reader would call one."""
    out = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- ")
        out += [s for s in re.split(r"(?<=[.!?])\s+", line) if s]
    return out


def fake_count(messages: list[dict[str, str]]) -> int:
    """About four characters a token, as English prose runs in most tokenizers."""
    return sum(len(m["content"]) for m in messages) // 4


@pytest.mark.parametrize("chars", [3_000, 4_500, 6_500, 10_000, 14_000])
def test_postings_land_within_ten_percent(chars):
    for seed in SEEDS:
        assert abs(len(realdocs.posting(seed, chars)) - chars) <= chars * 0.1


@pytest.mark.parametrize("chars", [2_000, 3_300, 4_500, 6_000])
def test_resumes_land_within_ten_percent(chars):
    for seed in SEEDS:
        assert abs(len(realdocs.resume(seed, chars)) - chars) <= chars * 0.1


@pytest.mark.parametrize(
    ("make", "chars"),
    [(realdocs.posting, 2_999), (realdocs.posting, 14_001), (realdocs.resume, 1_999),
     (realdocs.resume, 6_001)],
)  # fmt: skip
def test_sizes_outside_real_documents_are_refused(make, chars):
    with pytest.raises(ValueError, match="real ones span"):
        make(0, chars)


def test_same_seed_same_text_and_seeds_differ():
    assert realdocs.posting(3, 6_500) == realdocs.posting(3, 6_500)
    assert realdocs.resume(3, 3_300) == realdocs.resume(3, 3_300)
    assert realdocs.posting(random.Random(3), 6_500) == realdocs.posting(3, 6_500)
    assert realdocs.bodies(4) == realdocs.bodies(4)
    assert len({realdocs.posting(seed, 6_500) for seed in SEEDS}) == len(SEEDS)
    assert len({realdocs.resume(seed, 3_300) for seed in SEEDS}) == len(SEEDS)


def test_a_longer_text_of_one_seed_says_more_of_the_same_facts():
    short, long = realdocs.posting(5, 3_000), realdocs.posting(5, 12_000)
    assert short.splitlines()[0] == long.splitlines()[0]  # same job
    assert set(sentences(short)) <= set(sentences(long))


@pytest.mark.parametrize(("make", "chars"), [(realdocs.posting, 14_000), (realdocs.resume, 6_000)])
def test_no_sentence_is_repeated_more_than_twice(make, chars):
    for seed in range(20):
        counts = Counter(sentences(make(seed, chars)))
        assert max(counts.values()) <= 2, counts.most_common(3)


def test_every_slot_is_filled():
    for seed in range(20):
        for text in (realdocs.posting(seed, 14_000), realdocs.resume(seed, 6_000)):
            assert not re.search(r"[{}]", text)
        for body in realdocs.bodies(seed).values():
            assert not any(re.search(r"[{}]", value) for value in body.values())


def test_postings_read_like_postings():
    for seed in SEEDS:
        text = realdocs.posting(seed, 3_000)
        for heading in ("About us", "Responsibilities", "Requirements", "Nice to have",
                        "Benefits", "Equal opportunity"):  # fmt: skip
            assert f"\n{heading}:\n" in text
        assert re.search(r"^- \d+\+ years of [a-z ]+ experience\.$", text, re.M)
        assert " at " in text.splitlines()[0]
        assert "equal opportunity employer" in text


def test_resumes_read_like_resumes():
    for seed in SEEDS:
        text = realdocs.resume(seed, 2_000)
        for heading in ("Summary", "Experience", "Education"):
            assert f"\n{heading}:\n" in text
        assert "\nSkills: " in text
        dated = re.findall(r"\([A-Z][a-z]{2} \d{4} - [A-Z][a-z]{2} \d{4}\)$", text, re.M)
        assert len(dated) >= 3  # several roles, each with dates
        assert re.search(r"\d+%", text)  # achievements carry metrics


def test_the_evidence_reader_sees_the_jobs_own_must_haves_and_no_flags():
    """The gateway reads what the facts say: must-haves are the job's required skills (soft
    extras unchecked, never missing), and a generated career trips no integrity flag."""
    rules = load_evidence_rules()
    for seed in range(12):
        job = make_job(random.Random(seed))
        body = realdocs.rank_body(seed, 10_000, 5_000)
        evidence = extract(
            body["job_description"], body["candidate"], today=realdocs.TODAY, rules=rules
        )
        shown = {r.name for r in evidence.must_have if r.checkable}
        assert shown == {*job.required, *([job.certification] if job.certification else [])}
        assert evidence.years_required == job.min_years
        assert evidence.flags == ()


@pytest.mark.parametrize("chars", [1, 200, 4_000, 20_000])
@pytest.mark.parametrize("kind", ["posting", "resume"])
def test_max_field_is_exactly_that_long_once_stripped(chars, kind):
    text = realdocs.max_field(chars, kind=kind)
    assert len(text) == len(text.strip()) == chars
    flat = realdocs.max_field(chars, kind=kind, one_line=True)
    assert len(flat.strip()) == chars and "\n" not in flat


def test_task_paths_are_the_domain_tables():
    domains = load_domains(configs_dir() / "domains.yaml")
    assert {domains[name].path for name in domains.names()} == set(realdocs.REQUEST_MODELS)


def test_bodies_validate_at_real_lengths():
    for path, body in realdocs.bodies(2).items():
        realdocs.REQUEST_MODELS[path].model_validate(body)
    sizes = {name: len(text) for body in realdocs.bodies(2).values() for name, text in body.items()}
    assert sizes["job_description"] > 5_800 and sizes["candidate"] > 2_900
    assert sizes["details"] > 600 and sizes["context"] > 600


@pytest.mark.parametrize("path", sorted(realdocs.REQUEST_MODELS))
def test_max_bodies_sit_exactly_on_every_bound(path):
    model, body = realdocs.REQUEST_MODELS[path], realdocs.max_bodies()[path]
    limits = realdocs.max_lengths(model)
    assert set(body) == set(limits) and limits
    model.model_validate(body)
    for name, limit in limits.items():
        assert len(body[name]) == limit
        with pytest.raises(ValidationError, match=name):
            model.model_validate({**body, name: body[name] + "x"})


def test_the_largest_rank_batch_validates():
    body = realdocs.max_rank_batch_body()
    request = realdocs.RankRequest.model_validate(body)
    assert len(request.candidate_list()) == 50
    assert {len(c.resume) for c in request.candidate_list()} == {20_000}
    too_many = {**body, "candidates": [*body["candidates"], {"id": "x", "resume": "y"}]}
    with pytest.raises(ValidationError, match="candidates"):
        realdocs.RankRequest.model_validate(too_many)


@pytest.mark.parametrize(("lo", "hi"), [(2_500, 3_500), (1_800, 1_900), (4_800, 5_000)])
def test_rank_pair_for_tokens_lands_in_range(lo, hi):
    for seed in range(4):
        pair = realdocs.rank_pair_for_tokens(seed, lo, hi, count_tokens=fake_count)
        assert lo <= pair.tokens <= hi
        assert pair.tokens == fake_count(realdocs.rank_messages(*pair.body().values()))
        realdocs.RankRequest.model_validate(pair.body())


def test_rank_pair_for_tokens_is_deterministic_and_says_when_it_cannot():
    first = realdocs.rank_pair_for_tokens(9, count_tokens=fake_count)
    assert realdocs.rank_pair_for_tokens(9, count_tokens=fake_count) == first
    with pytest.raises(ValueError, match="shortest pair"):
        realdocs.rank_pair_for_tokens(9, 10, 20, count_tokens=fake_count)
    with pytest.raises(ValueError, match="longest pair"):
        realdocs.rank_pair_for_tokens(9, 90_000, 95_000, count_tokens=fake_count)

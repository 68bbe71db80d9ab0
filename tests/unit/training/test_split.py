"""Deduplication and the leak-free, domain-stratified split."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from hrstack.training.formats import Example, Message
from hrstack.training.split import dedupe, groups, source_keys, split_examples


def row(domain: str, user: str, answer: str = "1. ok", **fields: str) -> Example:
    return Example(
        id=f"{domain}-{user}-{answer}",
        domain=domain,
        source="original",
        messages=[Message(role="user", content=user), Message(role="assistant", content=answer)],
        fields=fields or None,
    )


def test_dedupe_ignores_case_and_spacing_and_keeps_the_first():
    rows = [
        row("rank", "Hello  World"),
        row("rank", "hello world"),
        row("ats_keywords", "hello world"),
    ]
    kept, dropped = dedupe(rows)
    assert dropped == 1 and kept == [rows[0], rows[2]]


def test_rows_sharing_a_resume_or_jd_are_one_group():
    jd, resume = "Data Analyst\n- SQL", "Jane\nSkills: SQL"
    rows = [
        row("ats_keywords", "a", job_description=jd),
        row("job_resume_match", "b", job_description=jd, resume=resume),
        row("resume_guidance", "c", resume=" jane\nskills:  sql "),  # same text, other spacing
        row("rank", "d", job_description="Other job", candidate="Other person"),
    ]
    assert sorted(map(sorted, groups(rows))) == [[0, 1, 2], [3]]


def test_tagged_documents_count_without_explicit_fields():
    tagged = row("ats_keywords", "List.\n\n<job_description>\nData Analyst\n</job_description>")
    fielded = row("rank", "x", job_description="data analyst")
    assert source_keys(tagged) & source_keys(fielded)


def make_rows(spec: list[tuple[int, int]]) -> list[Example]:
    """(domain index, document id) pairs -> rows; equal document ids share a JD."""
    domains = ["rank", "ats_keywords", "resume_guidance"]
    return [
        row(domains[d], f"row {i}", job_description=f"JD number {doc}")
        for i, (d, doc) in enumerate(spec)
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40)), min_size=1, max_size=150),
       st.integers(0, 10_000))  # fmt: skip
def test_no_document_crosses_splits(spec, seed):
    rows = make_rows(spec)
    splits = split_examples(rows, 0.1, 0.1, seed)
    assert sum(len(v) for v in splits.values()) == len(rows)
    owner: dict[str, str] = {}
    for name, members in splits.items():
        for example in members:
            for key in source_keys(example):
                assert owner.setdefault(key, name) == name, f"{key} in {owner[key]} and {name}"


def test_split_is_stratified_by_domain_and_deterministic():
    spec = [(i % 3, i) for i in range(600)]  # 200 rows per domain, no shared documents
    rows = make_rows(spec)
    first = split_examples(rows, 0.1, 0.05, seed=3)
    assert first == split_examples(rows, 0.1, 0.05, seed=3)
    for name, share in (("val", 0.1), ("test", 0.05)):
        per_domain = Counter(e.domain for e in first[name])
        assert set(per_domain.values()) == {round(200 * share)}, (name, per_domain)


def test_small_domains_still_reach_every_split():
    rows = make_rows([(0, i) for i in range(3)] + [(1, 100 + i) for i in range(100)])
    splits = split_examples(rows, 0.05, 0.05, seed=0)
    for name in ("train", "val", "test"):
        assert any(e.domain == "rank" for e in splits[name]), name

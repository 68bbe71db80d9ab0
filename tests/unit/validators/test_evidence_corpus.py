"""The evidence reader on the varied corpus (tests/evidence_corpus.py): the issue's targets.

Postings in seven formats (headings with and without colons, curly apostrophes, Australian
criteria, numbered, inline, markdown, prose) and CVs in nine layouts (month and slash dates,
two-digit years, promotions, part-time and freelance work, JSON profiles, two planted
impossibilities). Per-format rates: ``python -m tests.evidence_corpus_report``.
"""

from __future__ import annotations

from tests.evidence_corpus_report import career_rates, posting_rates


def test_postings_must_haves_read_with_recall_and_precision() -> None:
    rates = posting_rates()
    overall = rates["all"]
    assert overall["any_must_read"] >= 0.9, rates
    assert overall["recall"] >= 0.85 and overall["precision"] >= 0.9, overall
    assert overall["years_read"] >= 0.9, overall
    # Every headed format is read whole; prose is read conservatively (named things only).
    for fmt, r in rates.items():
        if fmt not in ("prose", "all"):
            assert r["all_must_read"] == 1.0 and r["precision"] == 1.0, (fmt, r)
    assert rates["prose"]["precision"] == 1.0, rates["prose"]


def test_ordinary_careers_are_not_flagged_and_planted_ones_are() -> None:
    rates = career_rates()
    ordinary = [r for r in rates.values() if not r["planted"]]
    cvs = sum(r["cvs"] for r in ordinary)
    assert sum(r["flagged"] for r in ordinary) / cvs <= 0.02, rates
    for fmt, r in rates.items():
        assert r["flags_as_expected"] == r["cvs"], (fmt, r)
        assert r["years_ok"] == r["cvs"], (fmt, r)

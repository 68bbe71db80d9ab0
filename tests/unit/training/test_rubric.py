"""The rank rubric: the documented example, bounds, and the rules a reader relies on."""

from __future__ import annotations

import doctest

from hypothesis import given
from hypothesis import strategies as st

from hrstack.training import rubric
from hrstack.training.rubric import CandidateFacts, JobFacts, recommendation, score_candidate

SKILLS = ["SQL", "Python", "Tableau", "Excel", "dbt", "Looker"]


def test_docstring_example_holds():
    assert doctest.testmod(rubric).failed == 0


@given(
    st.lists(st.sampled_from(SKILLS), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(SKILLS), max_size=6, unique=True),
    st.integers(0, 12), st.integers(0, 15), st.booleans(), st.booleans(),
)  # fmt: skip
def test_score_is_bounded_and_decision_follows_the_bar(required, owned, need, years, cert, has):
    job = JobFacts("Analyst", tuple(required), ("Looker",), need, ("CPA",) if cert else ())
    cand = CandidateFacts("Analyst", years, tuple(owned), ("CPA",) if has else ())
    result = score_candidate(job, cand, shortlist_min_score=0.5)
    assert 0 <= result.score <= 1
    assert result.decision == ("shortlist" if result.score >= 0.5 else "reject")
    assert set(result.required_matched) | set(result.required_missing) == set(required)
    if cert and not has:
        assert result.score <= rubric.CERTIFICATION_CAP and result.decision == "reject"


def test_more_required_skills_never_lower_the_score():
    job = JobFacts("Analyst", ("SQL", "Python", "Tableau"), (), 3)
    scores = [
        score_candidate(job, CandidateFacts("A", 3, owned), shortlist_min_score=0.5).score
        for owned in [(), ("SQL",), ("SQL", "Python"), ("SQL", "Python", "Tableau")]
    ]
    assert scores == sorted(scores) and scores[-1] == 1.0


def test_skill_matching_ignores_case():
    job = JobFacts("Analyst", ("SQL",), (), 0)
    assert (
        score_candidate(job, CandidateFacts("A", 1, ("sql",)), shortlist_min_score=0.5).score == 1
    )


def test_recommendation_bands():
    assert [recommendation(s, 0.5) for s in (0.9, 0.7, 0.69, 0.5, 0.49)] == [
        "interview", "interview", "consider", "consider", "reject"
    ]  # fmt: skip

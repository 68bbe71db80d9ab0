"""The rank rubric: a transparent, pure score of how well a candidate fits a job.

Gold labels for rank rows (and match scores) come from here, so a label can always be
explained in one line, and the ranking work can reuse the very same rule. Three parts, with
fixed weights that sum to 1:

* required skills (0.60): the share of the job's required skills the candidate has;
* experience (0.25): candidate years / required years, capped at 1;
* preferred skills (0.15): the share of nice-to-have skills (1.0 when the job lists none).

A required certification or license the candidate lacks caps the score at 0.35 (a forklift
job without a forklift license is a reject however good the rest is). The score is rounded to
two decimals; the decision is ``shortlist`` iff score >= the validators' ``shortlist_min_score``
(0.5 in configs/validators.yaml), so gold labels always pass ``decision_matches_score``.

>>> job = JobFacts("Data Analyst", ("SQL", "Tableau", "Python"), ("dbt",), 3)
>>> cand = CandidateFacts("Analyst", 4, ("SQL", "Tableau", "Excel"))
>>> result = score_candidate(job, cand, shortlist_min_score=0.5)
>>> result.score, result.decision, result.required_missing
(0.65, 'shortlist', ('Python',))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WEIGHTS = {"required": 0.60, "experience": 0.25, "preferred": 0.15}
CERTIFICATION_CAP = 0.35
#: Match-score bands for the recommendation line of job_resume_match answers.
INTERVIEW_FROM = 0.70


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the rubric reads from a job: title, skills and the experience and licenses asked."""

    title: str
    required_skills: tuple[str, ...]
    preferred_skills: tuple[str, ...] = ()
    min_years: int = 0
    required_certifications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CandidateFacts:
    """What the rubric reads from a candidate: current title, years, skills and licenses."""

    title: str
    years: int
    skills: tuple[str, ...]
    certifications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RubricResult:
    score: float
    decision: Literal["shortlist", "reject"]
    required_matched: tuple[str, ...]
    required_missing: tuple[str, ...]
    preferred_matched: tuple[str, ...]
    preferred_missing: tuple[str, ...]
    certifications_missing: tuple[str, ...]
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "decision": self.decision,
            "required_matched": list(self.required_matched),
            "required_missing": list(self.required_missing),
            "preferred_matched": list(self.preferred_matched),
            "certifications_missing": list(self.certifications_missing),
            "components": dict(self.components),
        }


def _split(wanted: tuple[str, ...], have: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    owned = {skill.casefold() for skill in have}
    matched = tuple(s for s in wanted if s.casefold() in owned)
    missing = tuple(s for s in wanted if s.casefold() not in owned)
    return matched, missing


def score_candidate(
    job: JobFacts, candidate: CandidateFacts, *, shortlist_min_score: float
) -> RubricResult:
    """Score ``candidate`` for ``job`` with the weights above; pure and deterministic."""
    req_hit, req_miss = _split(job.required_skills, candidate.skills)
    pref_hit, pref_miss = _split(job.preferred_skills, candidate.skills)
    _, cert_miss = _split(job.required_certifications, candidate.certifications)
    components = {
        "required": len(req_hit) / len(job.required_skills) if job.required_skills else 1.0,
        "experience": min(1.0, candidate.years / job.min_years) if job.min_years else 1.0,
        "preferred": len(pref_hit) / len(job.preferred_skills) if job.preferred_skills else 1.0,
    }
    raw = sum(WEIGHTS[name] * value for name, value in components.items())
    if cert_miss:
        raw = min(raw, CERTIFICATION_CAP)
    score = round(raw + 1e-9, 2)  # 1e-9: 0.645 is 0.6449999... in binary; round it up
    decision: Literal["shortlist", "reject"] = (
        "shortlist" if score >= shortlist_min_score else "reject"
    )
    return RubricResult(
        score, decision, req_hit, req_miss, pref_hit, pref_miss, cert_miss, components
    )


def recommendation(score: float, shortlist_min_score: float) -> str:
    """interview / consider / reject, the verb a match answer's recommendation starts with."""
    if score >= INTERVIEW_FROM:
        return "interview"
    return "consider" if score >= shortlist_min_score else "reject"

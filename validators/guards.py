"""Guards for the two decisions (rank, match): rules the final answer obeys whatever the model
said.

A model can be talked into shortlisting (or simply be wrong); the evidence cannot. Two rules,
thresholds in ``configs/evidence.yaml``, the same for both (match's score is 0-100, its
"shortlist" is "interview"):

* a candidate missing any checkable must-have is not shortlisted: the decision becomes
  "reject" and the score at most ``missing_must_have_cap``;
* integrity flags (``verify_on``) put the candidate in status "verify": a person looks before
  anything happens. The decision is left as it was, never turned into a reject, because a flag
  is a question, not an answer.

Every change is listed as an ``Override`` so the response and the audit log say why.

>>> from validators.evidence import Evidence, Requirement
>>> from validators.evidence_rules import GuardRules
>>> ev = Evidence((Requirement("Python", False),), (), 4.0, 3, (), "text")
>>> rules = GuardRules(missing_must_have_cap=0.45, match_missing_must_have_cap=45,
...                    verify_on=frozenset())
>>> result = apply_guards(ev, "shortlist", 0.82, rules)
>>> result.decision, result.score, result.status, result.overrides[0].rule
('reject', 0.45, 'reject', 'missing_must_have')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hrstack.validators.evidence import Evidence
from hrstack.validators.evidence_rules import GuardRules

Decision = Literal["shortlist", "reject"]
Status = Literal["shortlist", "reject", "verify"]
Recommendation = Literal["interview", "consider", "reject"]
MatchStatus = Literal["interview", "consider", "reject", "verify"]


@dataclass(frozen=True, slots=True)
class Override:
    rule: str
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class GuardResult:
    decision: Decision | None
    score: float | None
    status: Status
    overrides: list[Override] = field(default_factory=list)


def _verdict(decision: Decision | None, score: float | None) -> str:
    shown = "no score" if score is None else f"{score:g}"
    return f"{decision or 'no decision'} ({shown})"


def apply_guards(
    evidence: Evidence, decision: Decision | None, score: float | None, rules: GuardRules
) -> GuardResult:
    """The guarded decision, score and status. No decision (an unusable answer) is status
    "verify" and is left as it is: there is no verdict to correct, only one to make, and that
    is a person's."""
    overrides = []
    missing = evidence.must_have_missing
    cap = rules.missing_must_have_cap
    over_cap = decision == "shortlist" or (score is not None and score > cap)
    if missing and decision is not None and over_cap:
        new_score = cap if score is None else min(score, cap)
        overrides.append(
            Override(
                "missing_must_have",
                _verdict(decision, score),
                _verdict("reject", new_score),
                "missing must-have: " + ", ".join(missing),
            )
        )
        decision, score = "reject", new_score
    status: Status = decision if decision is not None else "verify"
    kinds = sorted({f.kind for f in evidence.flags if f.kind in rules.verify_on})
    if kinds and decision is not None:
        overrides.append(
            Override("integrity_flags", status, "verify", "flags: " + ", ".join(kinds))
        )
        status = "verify"
    return GuardResult(decision, score, status, overrides)


@dataclass(frozen=True, slots=True)
class MatchGuardResult:
    recommendation: Recommendation | None
    score: int | None
    status: MatchStatus
    overrides: list[Override] = field(default_factory=list)


def _match_verdict(recommendation: Recommendation | None, score: int | None) -> str:
    shown = "no score" if score is None else f"{score}/100"
    return f"{recommendation or 'no recommendation'} ({shown})"


def apply_match_guards(
    evidence: Evidence,
    recommendation: Recommendation | None,
    score: int | None,
    rules: GuardRules,
) -> MatchGuardResult:
    """Rank's guards on /v1/match's scale: a missing must-have caps the score at
    ``match_missing_must_have_cap`` and turns "interview" into "consider"; integrity flags
    set status "verify" and change nothing else. No recommendation is status "verify"."""
    overrides = []
    missing = evidence.must_have_missing
    cap = rules.match_missing_must_have_cap
    over_cap = recommendation == "interview" or (score is not None and score > cap)
    if missing and recommendation is not None and over_cap:
        new_score = cap if score is None else min(score, cap)
        new_recommendation: Recommendation = (
            "consider" if recommendation == "interview" else recommendation
        )
        overrides.append(
            Override(
                "missing_must_have",
                _match_verdict(recommendation, score),
                _match_verdict(new_recommendation, new_score),
                "missing must-have: " + ", ".join(missing),
            )
        )
        recommendation, score = new_recommendation, new_score
    status: MatchStatus = recommendation if recommendation is not None else "verify"
    kinds = sorted({f.kind for f in evidence.flags if f.kind in rules.verify_on})
    if kinds and recommendation is not None:
        overrides.append(
            Override("integrity_flags", status, "verify", "flags: " + ", ".join(kinds))
        )
        status = "verify"
    return MatchGuardResult(recommendation, score, status, overrides)

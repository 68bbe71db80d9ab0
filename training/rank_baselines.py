"""The two deterministic systems every rank model is read against.

* **guards only**: shortlist every candidate, then let the gateway's guards overrule (a missing
  must-have rejects; a flag sends to verify). What /v1/rank answers if the model always said
  "shortlist" with a score of 1.
* **evidence only**: the evidence block's own decision, by a fixed rule: reject when a
  checkable must-have is missing or the relevant years fall short of the years asked,
  shortlist otherwise. Its score is the mean of the must-have share met and the years ratio
  (capped at 1), each where known (0.5 where neither is), kept on the decision's side of the
  shortlist bar.

The model's contribution is what it adds over the better of the two: on a set whose gold the
guards or the evidence rule already decide, a model row can look good by agreeing with them.
"""

from __future__ import annotations

from typing import Literal

from hrstack.validators.evidence import Evidence
from hrstack.validators.evidence_rules import GuardRules
from hrstack.validators.guards import GuardResult, apply_guards

BASELINES = ("guards only", "evidence only")
#: How far below the bar an evidence-only reject's score is held.
_BELOW = 0.01


def guards_only(evidence: Evidence, guards: GuardRules) -> GuardResult:
    return apply_guards(evidence, "shortlist", 1.0, guards)


def evidence_only(evidence: Evidence, bar: float) -> tuple[Literal["shortlist", "reject"], float]:
    """(decision, score) by the rule above."""
    parts = []
    checkable = len(evidence.must_have_met) + len(evidence.must_have_missing)
    if checkable:
        parts.append(len(evidence.must_have_met) / checkable)
    required, years = evidence.years_required, evidence.years_relevant
    short_of_years = False
    if required and years is not None:
        parts.append(min(1.0, years / required))
        short_of_years = years < required
    raw = sum(parts) / len(parts) if parts else 0.5
    if evidence.must_have_missing or short_of_years:
        return "reject", round(min(raw, bar - _BELOW), 4)
    return "shortlist", round(max(raw, bar), 4)

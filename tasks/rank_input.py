"""A decision request (rank, match) as the model reads it: screened, redacted, with evidence.

Pure and shared: the gateway builds every rank and match prompt through
:func:`prepare_rank_input`, and training (training/rank_pairs.py, training/synth.py) builds its
rows and evaluation pairs through the same call, so the model is trained and judged on exactly
the text production sends it. Rank names the resume ``candidate``, match ``resume``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hrstack.tasks import untrusted
from hrstack.tasks.redaction import Redacted, Redactor
from hrstack.validators.evidence import Evidence, Flag, extract, render
from hrstack.validators.evidence_rules import EvidenceRules
from hrstack.validators.guards import Decision


@dataclass(frozen=True, slots=True)
class RankInput:
    """What the rank prompt is built from: screened, redacted fields with ``evidence``."""

    fields: dict[str, str | None]
    flags: list[untrusted.InputFlag]
    redacted: Redacted | None
    evidence: Evidence


#: Screening findings that are also integrity flags (they are stripped before extraction).
_SCREEN_FLAG_KINDS = ("prompt_injection", "hidden_text")


def prepare_rank_input(
    job_description: str,
    resume: str,
    *,
    neutralize: bool,
    redactor: Redactor | None,
    evidence_rules: EvidenceRules,
    today: date,
    tags: frozenset[str] = frozenset(),
    resume_field: str = "candidate",
) -> RankInput:
    """Screen -> redact -> extract evidence, as the gateway does before every rank and match
    prompt. Pure, so training builds exactly the prompt production sends."""
    fields, flags = untrusted.screen_fields(
        {"job_description": job_description, resume_field: resume}, neutralize=neutralize, tags=tags
    )
    redacted = None
    if redactor is not None and redactor.enabled:
        redacted = redactor.redact(fields[resume_field] or "", job_description)
        fields[resume_field] = redacted.text
    evidence = extract(
        fields["job_description"] or "",
        fields[resume_field] or "",
        today=today,
        rules=evidence_rules,
    )
    screened = [
        Flag(f.kind, f.pattern)
        for f in flags
        if f.field == resume_field and f.kind in _SCREEN_FLAG_KINDS
    ]
    evidence = evidence.with_flags(screened)
    fields["evidence"] = render(evidence, budget_tokens=evidence_rules.render_budget_tokens)
    return RankInput(fields, flags, redacted, evidence)


def parsed_verdict(parsed: Mapping[str, Any]) -> tuple[Decision | None, float | None, list[str]]:
    """Only values of the right type and range reach the typed result (a score of 3 is no
    score: it would sort first in a batch); the report says what was wrong."""
    decision = parsed.get("decision")
    score = parsed.get("score")
    reasons = parsed.get("reasons")
    unit = None
    if isinstance(score, int | float) and not isinstance(score, bool) and 0.0 <= score <= 1.0:
        unit = float(score)
    return (
        decision if decision in ("shortlist", "reject") else None,
        unit,
        [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else [],
    )

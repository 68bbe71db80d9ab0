"""POST /v1/match: a score, strengths, gaps and a recommendation, held to rank's rules.

A match recommendation (interview, consider, reject) is a screening decision, so it takes the
rank path: the resume is redacted before the model reads it, the evidence block grounds the
answer, guards overrule it (a missing must-have caps the score and rules out "interview"; an
integrity flag sends it to a person), and every answered match is appended to the audit log
and fsynced first; if that fails the request is refused (503) instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from hrstack.server.audit.records import match_record
from hrstack.server.protocol import MatchRequest, MatchResponse
from hrstack.server.routes.common import (
    OptionsDep,
    RequestIdDep,
    ServiceDep,
    append_audit,
    checked_fields,
    evidence_summary,
    override_reports,
    redaction_items,
)
from hrstack.server.routes.tasks import ERRORS

DOMAIN = "job_resume_match"
router = APIRouter(prefix="/v1", tags=["tasks"], responses=ERRORS)


@router.post("/match", summary="Job/resume match: score, strengths, gaps, a recommendation")
async def match(
    body: MatchRequest,
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    rid: RequestIdDep,
    include_redactions: Annotated[
        bool, Query(description="Return what was redacted from the resume (it is never logged).")
    ] = False,
) -> MatchResponse:
    matched = await service.match(
        body.job_description, body.resume, max_attempts=options.max_attempts, seed=options.seed
    )
    outcome, guard, redacted = matched.outcome, matched.guard, matched.redacted
    parsed = outcome.result.parsed
    response = MatchResponse(
        **checked_fields(service, DOMAIN, outcome, options, rid),
        candidate_id=body.candidate_id or "candidate",
        score=guard.score,
        strengths=list(parsed.get("strengths") or []),
        gaps=list(parsed.get("gaps") or []),
        recommendation=parsed.get("recommendation"),
        decision=guard.recommendation,
        status=guard.status,
        evidence=evidence_summary(matched.evidence),
        overrides=override_reports(guard.overrides),
        redacted=redacted.counts() if redacted is not None else {},
        redactions=redaction_items(redacted, include_redactions),
    )
    record = match_record(
        response,
        model=service.model,
        prompt_version=service.prompt_versions[DOMAIN],
        job_description=body.job_description,
        resume=body.resume,
    )
    await append_audit(request, service, [record])
    return response

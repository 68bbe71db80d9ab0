"""POST /v1/rank: one candidate or a batch against one job description, sorted by score.

Every decision answered with 200 is first appended to the audit log and fsynced; if that
fails the request is refused (503) instead: no answered decision goes unrecorded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from hrstack.server.audit.records import decision_record
from hrstack.server.protocol import (
    CandidateIn,
    RankRequest,
    RankResponse,
    RankResult,
    Usage,
)
from hrstack.server.routes.common import (
    OptionsDep,
    RequestIdDep,
    ServiceDep,
    append_audit,
    evidence_summary,
    flags_of,
    history_of,
    override_reports,
    redaction_items,
    reject_if_strict,
    to_report,
    usage_of,
)
from hrstack.server.routes.tasks import ERRORS
from hrstack.server.service import RankOutcome, TaskService
from hrstack.tasks.rank_input import parsed_verdict

router = APIRouter(prefix="/v1", tags=["rank"], responses=ERRORS)


def _sort_key(result: RankResult) -> tuple[bool, float, str]:
    """Highest score first, unscored last; equal scores by candidate id (the ids are unique in
    a request), so the order never depends on the order candidates were sent in."""
    return (result.score is None, -(result.score or 0.0), result.candidate_id)


def _result(candidate: CandidateIn, ranked: RankOutcome, include_redactions: bool) -> RankResult:
    outcome, redacted = ranked.outcome, ranked.redacted
    _, _, reasons = parsed_verdict(outcome.result.parsed)
    guard = ranked.guard
    return RankResult(
        candidate_id=candidate.id,
        decision=guard.decision,
        score=guard.score,
        status=guard.status,
        evidence=evidence_summary(ranked.evidence),
        overrides=override_reports(guard.overrides),
        reasons=reasons,
        text=outcome.text,
        valid=outcome.result.ok,
        validation=to_report(outcome.result),
        attempts=outcome.attempts,
        attempt_history=history_of(outcome),
        usage=usage_of(outcome),
        flags=flags_of(outcome),
        redacted=redacted.counts() if redacted is not None else {},
        redactions=redaction_items(redacted, include_redactions),
    )


def _total(results: list[RankResult]) -> Usage:
    prompt = sum(r.usage.prompt_tokens for r in results)
    completion = sum(r.usage.completion_tokens for r in results)
    total = prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _concurrency(request: Request, candidates: int, batch_concurrency: int) -> int:
    """Candidates run at once: as many admission slots as the request could take now."""
    wanted = min(candidates, batch_concurrency)
    ticket = getattr(request.state, "admission", None)
    return wanted if ticket is None else ticket.grow(wanted)


async def _record(
    request: Request, service: TaskService, body: RankRequest, results: list[RankResult], rid: str
) -> None:
    resumes = {c.id: c.resume for c in body.candidate_list()}
    records = [
        decision_record(
            result,
            request_id=rid,
            model=service.model,
            prompt_version=service.prompt_versions["rank"],
            job_description=body.job_description,
            resume=resumes[result.candidate_id],
        )
        for result in results
    ]
    await append_audit(request, service, records)


def _candidate_params(body: RankRequest) -> list[str]:
    """How the request names each resume, for an error about one candidate's input."""
    if body.candidates is None:
        return ["candidate"]
    return [f"candidates[{i}].resume" for i in range(len(body.candidates))]


@router.post("/rank", summary="Shortlist or reject candidates with a score and grounded reasons")
async def rank(
    body: RankRequest,
    request: Request,
    service: ServiceDep,
    options: OptionsDep,
    rid: RequestIdDep,
    include_redactions: Annotated[
        bool, Query(description="Return what was redacted from each resume (it is never logged).")
    ] = False,
) -> RankResponse:
    candidates = body.candidate_list()
    concurrency = _concurrency(
        request, len(candidates), request.app.state.settings.batch_concurrency
    )
    ranked = await service.rank(
        body.job_description,
        [c.resume for c in candidates],
        concurrency=concurrency,
        max_attempts=options.max_attempts,
        seed=options.seed,
        candidate_params=_candidate_params(body),
    )
    results = [
        _result(candidate, outcome, include_redactions)
        for candidate, outcome in zip(candidates, ranked, strict=True)
    ]
    reports = [
        {"candidate_id": r.candidate_id, "validation": r.validation.model_dump()} for r in results
    ]
    reject_if_strict(options, "rank", reports)
    await _record(request, service, body, results, rid)
    results.sort(key=_sort_key)
    return RankResponse(
        id=rid,
        model=service.model,
        results=results,
        valid=all(r.valid for r in results),
        usage=_total(results),
    )

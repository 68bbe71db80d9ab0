"""POST /v1/rank: one candidate or a batch against one job description, sorted by score.

Every decision answered with 200 is first appended to the audit log and fsynced; if that
fails the request is refused (503) instead: no answered decision goes unrecorded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from server.audit.log import AuditLog, AuditWriteError
from server.audit.records import decision_record
from server.errors import AuditUnavailable
from server.protocol import (
    CandidateIn,
    EvidenceSummary,
    IntegrityFlag,
    OverrideReport,
    RankRequest,
    RankResponse,
    RankResult,
    RedactionItem,
    Usage,
)
from server.routes.common import (
    OptionsDep,
    RequestIdDep,
    ServiceDep,
    flags_of,
    history_of,
    reject_if_strict,
    to_report,
    usage_of,
)
from server.routes.tasks import ERRORS
from server.service import RankOutcome, TaskService
from tasks.rank_input import parsed_verdict
from validators.evidence import Evidence

router = APIRouter(prefix="/v1", tags=["rank"], responses=ERRORS)


def _summary(evidence: Evidence) -> EvidenceSummary:
    return EvidenceSummary(
        must_have_met=list(evidence.must_have_met),
        must_have_missing=list(evidence.must_have_missing),
        nice_to_have_met=list(evidence.nice_to_have_met),
        nice_to_have_missing=list(evidence.nice_to_have_missing),
        unchecked=list(evidence.unchecked),
        years_relevant=evidence.years_relevant,
        years_required=evidence.years_required,
        flags=[IntegrityFlag(kind=f.kind, detail=f.detail) for f in evidence.flags],
    )


def _sort_key(result: RankResult) -> tuple[bool, float]:
    return (result.score is None, -(result.score or 0.0))


def _result(candidate: CandidateIn, ranked: RankOutcome, include_redactions: bool) -> RankResult:
    outcome, redacted = ranked.outcome, ranked.redacted
    _, _, reasons = parsed_verdict(outcome.result.parsed)
    guard = ranked.guard
    items = redacted.items if redacted is not None else ()
    return RankResult(
        candidate_id=candidate.id,
        decision=guard.decision,
        score=guard.score,
        status=guard.status,
        evidence=_summary(ranked.evidence),
        overrides=[
            OverrideReport(rule=o.rule, before=o.before, after=o.after, reason=o.reason)
            for o in guard.overrides
        ],
        reasons=reasons,
        text=outcome.text,
        valid=outcome.result.ok,
        validation=to_report(outcome.result),
        attempts=outcome.attempts,
        attempt_history=history_of(outcome),
        usage=usage_of(outcome),
        flags=flags_of(outcome),
        redacted=redacted.counts() if redacted is not None else {},
        redactions=[
            RedactionItem(category=i.category, placeholder=i.placeholder, original=i.original)
            for i in items
        ]
        if include_redactions
        else None,
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
    audit: AuditLog | None = request.app.state.audit
    if audit is None:
        return
    resumes = {c.id: c.resume for c in body.candidate_list()}
    records = [
        decision_record(
            result,
            request_id=rid,
            model=service.model,
            prompt_version=service.prompt_version,
            job_description=body.job_description,
            resume=resumes[result.candidate_id],
        )
        for result in results
    ]
    try:
        await audit.append_async(records)
    except AuditWriteError as exc:
        service.metrics.audit_failures.inc()
        raise AuditUnavailable(
            f"the decision could not be recorded ({exc.strerror}); it is not answered unrecorded. "
            "Retry after the Retry-After delay",
            headers={"Retry-After": str(request.app.state.settings.retry_after_s)},
        ) from exc
    service.metrics.audit_records.inc(len(records))


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

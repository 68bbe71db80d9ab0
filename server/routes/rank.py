"""POST /v1/rank: one candidate or a batch against one job description, sorted by score."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from server.protocol import RankRequest, RankResponse, RankResult, Usage
from server.routes.common import (
    OptionsDep,
    RequestIdDep,
    ServiceDep,
    reject_if_strict,
    to_report,
    usage_of,
)
from server.routes.tasks import ERRORS

router = APIRouter(prefix="/v1", tags=["rank"], responses=ERRORS)


def _parsed(parsed: Mapping[str, Any]) -> tuple[Any, float | None, list[str]]:
    """Only values of the right type reach the typed result; the report says what was wrong."""
    decision = parsed.get("decision")
    score = parsed.get("score")
    reasons = parsed.get("reasons")
    return (
        decision if decision in ("shortlist", "reject") else None,
        float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else [],
    )


def _sort_key(result: RankResult) -> tuple[bool, float]:
    return (result.score is None, -(result.score or 0.0))


@router.post("/rank", summary="Shortlist or reject candidates with a score and grounded reasons")
async def rank(
    body: RankRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> RankResponse:
    candidates = body.candidate_list()
    outcomes = await asyncio.gather(
        *(
            service.rank_one(
                body.job_description, c.resume, max_attempts=options.max_attempts, seed=options.seed
            )
            for c in candidates
        )
    )
    results = []
    for candidate, outcome in zip(candidates, outcomes, strict=True):
        decision, score, reasons = _parsed(outcome.result.parsed)
        results.append(
            RankResult(
                candidate_id=candidate.id,
                decision=decision,
                score=score,
                reasons=reasons,
                text=outcome.text,
                valid=outcome.result.ok,
                validation=to_report(outcome.result),
                attempts=outcome.attempts,
                usage=usage_of(outcome),
            )
        )
    reject_if_strict(
        options,
        "rank",
        [
            {"candidate_id": r.candidate_id, "validation": r.validation.model_dump()}
            for r in results
        ],
    )
    results.sort(key=_sort_key)
    total = Usage(
        prompt_tokens=sum(r.usage.prompt_tokens for r in results),
        completion_tokens=sum(r.usage.completion_tokens for r in results),
    )
    total.total_tokens = total.prompt_tokens + total.completion_tokens
    return RankResponse(
        id=rid,
        model=service.model,
        results=results,
        valid=all(r.valid for r in results),
        usage=total,
    )

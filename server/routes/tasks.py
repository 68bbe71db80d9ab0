"""The four free-text task endpoints. Each is one line: route -> service -> engine.

/v1/match is a decision and has its own module (server/routes/match.py), beside rank's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hrstack.server.protocol import (
    AtsKeywordsRequest,
    AtsKeywordsResponse,
    ErrorResponse,
    JobDescriptionRequest,
    JobDescriptionResponse,
    RecruitingStrategyRequest,
    RecruitingStrategyResponse,
    ResumeGuidanceRequest,
    ResumeGuidanceResponse,
)
from hrstack.server.routes.common import OptionsDep, RequestIdDep, ServiceDep, answer

#: Every status a task route can answer besides 200, so clients (and the schemathesis run in
#: the tests) can rely on the document: nothing outside this list is ever sent.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "API_KEYS is set and no valid key was sent."},
    413: {"model": ErrorResponse, "description": "The body is over MAX_BODY_BYTES."},
    422: {
        "model": ErrorResponse,
        "description": "Bad input (field and reason), or strict mode and the answer failed.",
    },
    429: {
        "model": ErrorResponse,
        "description": "The gateway is at its admission limit; retry after Retry-After seconds.",
    },
    502: {"model": ErrorResponse, "description": "The model server sent an unusable answer."},
    503: {
        "model": ErrorResponse,
        "description": "No model server is healthy or reachable, or the audit log cannot be "
        "written; see Retry-After.",
    },
    504: {
        "model": ErrorResponse,
        "description": "The model server did not answer in time, or the request deadline passed.",
    },
}

router = APIRouter(prefix="/v1", tags=["tasks"], responses=ERRORS)


@router.post("/resume-guidance", summary="Numbered, ATS-aware resume improvements")
async def resume_guidance(
    body: ResumeGuidanceRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> ResumeGuidanceResponse:
    return await answer(service, "resume_guidance", body, ResumeGuidanceResponse, options, rid)


@router.post("/job-description", summary="A job description with required sections")
async def job_description(
    body: JobDescriptionRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> JobDescriptionResponse:
    return await answer(service, "job_description", body, JobDescriptionResponse, options, rid)


@router.post("/recruiting-strategy", summary="A numbered sourcing and hiring plan")
async def recruiting_strategy(
    body: RecruitingStrategyRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> RecruitingStrategyResponse:
    return await answer(
        service, "recruiting_strategy", body, RecruitingStrategyResponse, options, rid
    )


@router.post("/ats-keywords", summary="Keywords an ATS screens for")
async def ats_keywords(
    body: AtsKeywordsRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> AtsKeywordsResponse:
    return await answer(service, "ats_keywords", body, AtsKeywordsResponse, options, rid)

"""The five free-text task endpoints. Each is one line: route -> service -> engine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.protocol import (
    AtsKeywordsRequest,
    AtsKeywordsResponse,
    JobDescriptionRequest,
    JobDescriptionResponse,
    MatchRequest,
    MatchResponse,
    RecruitingStrategyRequest,
    RecruitingStrategyResponse,
    ResumeGuidanceRequest,
    ResumeGuidanceResponse,
)
from server.routes.common import OptionsDep, RequestIdDep, ServiceDep, answer

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Bad input (field and reason), or strict mode and the answer failed."},
    502: {"description": "The model server sent an unusable answer."},
    503: {"description": "The model server is unreachable or not ready; see Retry-After."},
    504: {"description": "The model server did not answer in time."},
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


@router.post("/match", summary="Job/resume match: score, strengths, gaps")
async def match(
    body: MatchRequest, service: ServiceDep, options: OptionsDep, rid: RequestIdDep
) -> MatchResponse:
    return await answer(service, "job_resume_match", body, MatchResponse, options, rid)


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

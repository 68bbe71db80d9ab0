"""A typed Python client for the task API, sync (``Client``) and async (``AsyncClient``).

    from hrstack.server.client import Client
    with Client("http://localhost:8000", api_key="...") as hr:
        answer = hr.ats_keywords(posting)            # AtsKeywordsResponse
        ranked = hr.rank_each(posting, {"c-1": cv1, "c-2": cv2}, progress=True)

Requests and responses are the gateway's own models (server.protocol): one definition, so a
field added there is typed here. Every task method takes the task routes' options (``strict``,
``max_attempts``, ``seed``). 429 (admission full) and 503 (no healthy engine, an engine being
restarted) are retried after the ``Retry-After`` the gateway sends, up to ``max_retries`` times;
any other error is raised as ``HrstackError`` with the gateway's status, code, param and message.

``rank_each`` ranks many candidates as one request each, ``concurrency`` at a time (vLLM
batches concurrent requests: 8 at once decode 4-5x the tokens per second of one on 2 cores),
each result in the order given, with an optional progress bar for long batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from hrstack.server.protocol import (
    AtsKeywordsRequest,
    AtsKeywordsResponse,
    CandidateIn,
    JobDescriptionRequest,
    JobDescriptionResponse,
    MatchRequest,
    MatchResponse,
    RankRequest,
    RankResponse,
    RankResult,
    RecruitingStrategyRequest,
    RecruitingStrategyResponse,
    ResumeGuidanceRequest,
    ResumeGuidanceResponse,
)

M = TypeVar("M", bound=BaseModel)
#: Statuses that mean "not now": the gateway says when to come back.
RETRIED = frozenset({429, 503})


class HrstackError(Exception):
    """The gateway refused or failed a request; its error body, parsed."""

    def __init__(self, status_code: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status_code = status_code
        self.code = str(error.get("code", f"http_{status_code}"))
        self.param = error.get("param")
        self.message = str(error.get("message", body))
        self.body = body
        super().__init__(f"{status_code} {self.code}: {self.message}")


def _options(strict: bool, max_attempts: int | None, seed: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"strict": "true"} if strict else {}
    if max_attempts is not None:
        params["max_attempts"] = max_attempts
    if seed is not None:
        params["seed"] = seed
    return params


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _retry_in(response: httpx.Response, attempt: int, max_retries: int, max_wait_s: float
              ) -> float | None:  # fmt: skip
    """Seconds to wait before asking again, or None: answered, or not a "not now", or out of
    retries. Retry-After when the gateway sent it, else exponential from 1 s; capped."""
    if response.status_code not in RETRIED or attempt > max_retries:
        return None
    given = response.headers.get("retry-after", "")
    wait = float(given) if given.replace(".", "", 1).isdigit() else 2.0 ** (attempt - 1)
    return min(wait, max_wait_s)


def _payload(body: BaseModel | dict[str, Any]) -> dict[str, Any]:
    return body if isinstance(body, dict) else body.model_dump(exclude_none=True)


def _parsed(response: httpx.Response, model: type[M]) -> M:
    if response.status_code != 200:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        raise HrstackError(response.status_code, body)
    return model.model_validate_json(response.content)


def _one_each(
    job_description: str, resumes: Mapping[str, str] | Sequence[CandidateIn]
) -> list[RankRequest]:
    """One single-candidate rank request per resume (a mapping is id -> resume)."""
    if isinstance(resumes, Mapping):
        pairs = list(resumes.items())
    else:
        pairs = [(c.id, c.resume) for c in resumes]
    return [
        RankRequest(job_description=job_description, candidate=resume, candidate_id=key)
        for key, resume in pairs
    ]


@contextmanager
def _progress(total: int, show: bool, what: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar (rich is a dependency already) or nothing."""
    if not show:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=False) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)


class Client:
    """The task API over one ``httpx.Client`` (thread-safe: ``rank_each`` shares it)."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        *,
        api_key: str | None = None,
        timeout_s: float = 900,
        max_retries: int = 5,
        max_wait_s: float = 60,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """``http``: an ``httpx.Client`` of your own (proxies, mTLS, a test client) used as
        given, with its own base URL, headers and timeouts."""
        self._http = http or httpx.Client(
            base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout_s,
            transport=transport,
        )  # fmt: skip
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: BaseModel | dict[str, Any], params: dict[str, Any],
              model: type[M]) -> M:  # fmt: skip
        attempt = 0
        while True:
            attempt += 1
            response = self._http.post(path, json=_payload(body), params=params)
            wait = _retry_in(response, attempt, self.max_retries, self.max_wait_s)
            if wait is None:
                return _parsed(response, model)
            time.sleep(wait)

    def resume_guidance(self, resume: str, target_role: str | None = None, *,
                        strict: bool = False, max_attempts: int | None = None,
                        seed: int | None = None) -> ResumeGuidanceResponse:  # fmt: skip
        body = ResumeGuidanceRequest(resume=resume, target_role=target_role)
        params = _options(strict, max_attempts, seed)
        return self._post("/v1/resume-guidance", body, params, ResumeGuidanceResponse)

    def job_description(self, title: str, company: str | None = None,
                        details: str | None = None, *, strict: bool = False,
                        max_attempts: int | None = None,
                        seed: int | None = None) -> JobDescriptionResponse:  # fmt: skip
        body = JobDescriptionRequest(title=title, company=company, details=details)
        params = _options(strict, max_attempts, seed)
        return self._post("/v1/job-description", body, params, JobDescriptionResponse)

    def recruiting_strategy(self, role: str, context: str | None = None, *,
                            strict: bool = False, max_attempts: int | None = None,
                            seed: int | None = None) -> RecruitingStrategyResponse:  # fmt: skip
        body = RecruitingStrategyRequest(role=role, context=context)
        params = _options(strict, max_attempts, seed)
        return self._post("/v1/recruiting-strategy", body, params, RecruitingStrategyResponse)

    def ats_keywords(self, job_description: str, *, strict: bool = False,
                     max_attempts: int | None = None,
                     seed: int | None = None) -> AtsKeywordsResponse:  # fmt: skip
        body = AtsKeywordsRequest(job_description=job_description)
        params = _options(strict, max_attempts, seed)
        return self._post("/v1/ats-keywords", body, params, AtsKeywordsResponse)

    def match(self, job_description: str, resume: str, candidate_id: str | None = None, *,
              strict: bool = False, max_attempts: int | None = None,
              seed: int | None = None) -> MatchResponse:  # fmt: skip
        body = MatchRequest(job_description=job_description, resume=resume,
                            candidate_id=candidate_id)  # fmt: skip
        return self._post("/v1/match", body, _options(strict, max_attempts, seed), MatchResponse)

    def rank(self, request: RankRequest, *, strict: bool = False,
             max_attempts: int | None = None, seed: int | None = None) -> RankResponse:  # fmt: skip
        """One request: one candidate, or a batch the gateway ranks and sorts together."""
        return self._post("/v1/rank", request, _options(strict, max_attempts, seed), RankResponse)

    def rank_many(self, requests: Sequence[RankRequest], *, concurrency: int = 8,
                  progress: bool = False, max_attempts: int | None = None,
                  seed: int | None = None) -> list[RankResponse]:  # fmt: skip
        """Many rank requests, ``concurrency`` at a time, answers in the order given (the
        first failure raises, as ``HrstackError``)."""
        params = _options(False, max_attempts, seed)
        with _progress(len(requests), progress, "ranking") as advance:

            def one(request: RankRequest) -> RankResponse:
                answer = self._post("/v1/rank", request, params, RankResponse)
                advance()
                return answer

            with ThreadPoolExecutor(max(1, concurrency)) as pool:
                return list(pool.map(one, requests))

    def rank_each(self, job_description: str,
                  resumes: Mapping[str, str] | Sequence[CandidateIn], *, concurrency: int = 8,
                  progress: bool = False, max_attempts: int | None = None,
                  seed: int | None = None) -> list[RankResult]:  # fmt: skip
        """Each candidate against one job as its own request; results in the order given."""
        answers = self.rank_many(
            _one_each(job_description, resumes), concurrency=concurrency, progress=progress,
            max_attempts=max_attempts, seed=seed,
        )  # fmt: skip
        return [answer.results[0] for answer in answers]


class AsyncClient:
    """The same API over ``httpx.AsyncClient``, for services and notebooks that are async."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        *,
        api_key: str | None = None,
        timeout_s: float = 900,
        max_retries: int = 5,
        max_wait_s: float = 60,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout_s,
            transport=transport,
        )  # fmt: skip
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: BaseModel | dict[str, Any], params: dict[str, Any],
                    model: type[M]) -> M:  # fmt: skip
        attempt = 0
        while True:
            attempt += 1
            response = await self._http.post(path, json=_payload(body), params=params)
            wait = _retry_in(response, attempt, self.max_retries, self.max_wait_s)
            if wait is None:
                return _parsed(response, model)
            await asyncio.sleep(wait)

    async def resume_guidance(self, resume: str, target_role: str | None = None, *,
                              strict: bool = False, max_attempts: int | None = None,
                              seed: int | None = None) -> ResumeGuidanceResponse:  # fmt: skip
        body = ResumeGuidanceRequest(resume=resume, target_role=target_role)
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/resume-guidance", body, params, ResumeGuidanceResponse)

    async def job_description(self, title: str, company: str | None = None,
                              details: str | None = None, *, strict: bool = False,
                              max_attempts: int | None = None,
                              seed: int | None = None) -> JobDescriptionResponse:  # fmt: skip
        body = JobDescriptionRequest(title=title, company=company, details=details)
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/job-description", body, params, JobDescriptionResponse)

    async def recruiting_strategy(self, role: str, context: str | None = None, *,
                                  strict: bool = False, max_attempts: int | None = None,
                                  seed: int | None = None,
                                  ) -> RecruitingStrategyResponse:  # fmt: skip
        body = RecruitingStrategyRequest(role=role, context=context)
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/recruiting-strategy", body, params, RecruitingStrategyResponse)

    async def ats_keywords(self, job_description: str, *, strict: bool = False,
                           max_attempts: int | None = None,
                           seed: int | None = None) -> AtsKeywordsResponse:  # fmt: skip
        body = AtsKeywordsRequest(job_description=job_description)
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/ats-keywords", body, params, AtsKeywordsResponse)

    async def match(self, job_description: str, resume: str, candidate_id: str | None = None,
                    *, strict: bool = False, max_attempts: int | None = None,
                    seed: int | None = None) -> MatchResponse:  # fmt: skip
        body = MatchRequest(job_description=job_description, resume=resume,
                            candidate_id=candidate_id)  # fmt: skip
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/match", body, params, MatchResponse)

    async def rank(self, request: RankRequest, *, strict: bool = False,
                   max_attempts: int | None = None,
                   seed: int | None = None) -> RankResponse:  # fmt: skip
        params = _options(strict, max_attempts, seed)
        return await self._post("/v1/rank", request, params, RankResponse)

    async def rank_many(self, requests: Sequence[RankRequest], *, concurrency: int = 8,
                        progress: bool = False, max_attempts: int | None = None,
                        seed: int | None = None) -> list[RankResponse]:  # fmt: skip
        params = _options(False, max_attempts, seed)
        slots = asyncio.Semaphore(max(1, concurrency))
        with _progress(len(requests), progress, "ranking") as advance:

            async def one(request: RankRequest) -> RankResponse:
                async with slots:
                    answer = await self._post("/v1/rank", request, params, RankResponse)
                advance()
                return answer

            return list(await asyncio.gather(*(one(r) for r in requests)))

    async def rank_each(self, job_description: str,
                        resumes: Mapping[str, str] | Sequence[CandidateIn], *,
                        concurrency: int = 8, progress: bool = False,
                        max_attempts: int | None = None,
                        seed: int | None = None) -> list[RankResult]:  # fmt: skip
        answers = await self.rank_many(
            _one_each(job_description, resumes), concurrency=concurrency, progress=progress,
            max_attempts=max_attempts, seed=seed,
        )  # fmt: skip
        return [answer.results[0] for answer in answers]

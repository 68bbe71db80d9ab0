"""server.client against the real app (scripted engine): typed answers, errors, batch helpers,
and retries that honour Retry-After (a stub transport injects the 429s and 503s)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from hrstack.server import client as client_module
from hrstack.server.client import AsyncClient, Client, HrstackError
from hrstack.server.protocol import AtsKeywordsResponse, MatchResponse, RankRequest, RankResponse
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine


def _typed(app_client: TestClient, **kwargs) -> Client:
    return Client(http=app_client, **kwargs)


def test_each_task_answers_its_own_typed_response(make_client):
    hr = _typed(make_client(FakeEngine(A.in_shape)))
    ats = hr.ats_keywords(A.JD_TEXT, seed=3)
    assert isinstance(ats, AtsKeywordsResponse) and ats.keywords
    assert hr.resume_guidance(A.RESUME_TEXT, "Data Analyst").items
    assert hr.job_description("Data Engineer", "Acme").sections
    assert hr.recruiting_strategy("Backend Engineer").items
    match = hr.match(A.JD_TEXT, A.RESUME_TEXT, candidate_id="m-1")
    assert isinstance(match, MatchResponse) and match.candidate_id == "m-1"
    ranked = hr.rank(RankRequest(job_description=A.JD_TEXT, candidate=A.RESUME_TEXT))
    assert isinstance(ranked, RankResponse) and ranked.results[0].candidate_id == "candidate"


def test_options_reach_the_gateway(make_client):
    engine = FakeEngine([A.JD_NO_REQUIREMENTS] * 2)
    hr = _typed(make_client(engine))
    with pytest.raises(HrstackError) as info:
        hr.job_description("Data Engineer", strict=True, max_attempts=2, seed=11)
    assert info.value.status_code == 422 and info.value.code == "answer_failed_validation"
    assert [p["seed"] for p in engine.payloads] == [11, 12]


def test_bad_input_is_refused_before_it_is_sent():
    with pytest.raises(ValueError, match="resume"):
        Client("http://nowhere.invalid").resume_guidance("")


def test_gateway_errors_keep_status_code_and_param(make_client):
    hr = _typed(make_client(FakeEngine(A.in_shape)))
    body = {"job_description": A.JD_TEXT, "candidate": "x" * 20_001}
    with pytest.raises(HrstackError) as info:
        hr._post("/v1/rank", body, {}, RankResponse)
    assert (info.value.status_code, info.value.param) == (422, "body.candidate")


def test_rank_each_keeps_the_order_given(make_client):
    hr = _typed(make_client(FakeEngine(A.in_shape)))
    resumes = {f"c-{k}": f"{A.RESUME_TEXT} Candidate number {k}." for k in range(7)}
    results = hr.rank_each(A.JD_TEXT, resumes, concurrency=3, progress=True)
    assert [r.candidate_id for r in results] == list(resumes)


def test_the_async_client_is_the_same_api(make_client):
    app = make_client(FakeEngine(A.in_shape)).app  # started: the lifespan has run

    async def scenario() -> tuple[list[str], AtsKeywordsResponse]:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://testserver", transport=transport) as hr:
            ranked = await hr.rank_each(A.JD_TEXT, {"a": A.RESUME_TEXT, "b": A.RESUME_TEXT})
            return [r.candidate_id for r in ranked], await hr.ats_keywords(A.JD_TEXT)

    ids, ats = asyncio.run(scenario())
    assert ids == ["a", "b"] and isinstance(ats, AtsKeywordsResponse) and ats.keywords


def _flaky(statuses: list[tuple[int, str | None]]) -> tuple[httpx.MockTransport, list[int]]:
    """Fault-injecting stub (a real gateway sheds load only under real load): the scripted
    statuses first, then a valid ATS answer."""
    seen: list[int] = []
    answer = {"id": "r", "domain": "ats_keywords", "model": "m", "text": "1. SQL", "valid": True,
              "validation": {"ok": True, "checks": [], "failed": []}, "attempts": 1,
              "usage": {}, "keywords": ["SQL"]}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(len(seen))
        if len(seen) <= len(statuses):
            status, retry_after = statuses[len(seen) - 1]
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(status, json={"error": {"code": "busy"}}, headers=headers)
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handler), seen


def test_429_and_503_are_retried_after_retry_after(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)
    transport, seen = _flaky([(429, "3"), (503, "7"), (429, None), (503, "500")])
    hr = Client("http://gw", transport=transport, max_wait_s=60)
    assert hr.ats_keywords(A.JD_TEXT).keywords == ["SQL"]
    assert waits == [3.0, 7.0, 4.0, 60.0]  # as told; none given: exponential; capped
    assert len(seen) == 5


def test_retries_are_bounded_and_the_last_refusal_raised(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: None)
    transport, seen = _flaky([(429, "1")] * 10)
    with pytest.raises(HrstackError) as info:
        Client("http://gw", transport=transport, max_retries=2).ats_keywords(A.JD_TEXT)
    assert info.value.status_code == 429 and len(seen) == 3


def test_other_errors_are_not_retried(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: pytest.fail("slept"))
    transport, seen = _flaky([(504, None)])
    with pytest.raises(HrstackError) as info:
        Client("http://gw", transport=transport).ats_keywords(A.JD_TEXT)
    assert info.value.status_code == 504 and len(seen) == 1

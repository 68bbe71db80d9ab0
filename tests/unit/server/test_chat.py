"""The OpenAI-compatible front door: same path and report as the task routes, OpenAI's shapes,
400s naming the field, streaming, over the scripted engine (the real SDK against a real engine:
tests/integration/test_openai_sdk.py)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrstack.server.errors import UpstreamTimeout
from hrstack.server.service import _Edges
from hrstack.tasks.domains import DomainConfig
from hrstack.tasks.prompts import assemble_answer
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

RANK_BODY = {"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT, "candidate_id": "c-7"}
MATCH_BODY = {"job_description": A.JD_TEXT, "resume": A.RESUME_TEXT}
#: (model, its task route, the task body, the last user message, hrstack.fields)
CASES = [
    ("hrstack-resume-guidance", "/v1/resume-guidance",
     {"resume": A.RESUME_TEXT, "target_role": "Data Analyst"}, A.RESUME_TEXT,
     {"target_role": "Data Analyst"}),
    ("hrstack-job-description", "/v1/job-description",
     {"title": "Senior Data Engineer", "company": "Acme"}, "Senior Data Engineer",
     {"company": "Acme"}),
    ("hrstack-recruiting-strategy", "/v1/recruiting-strategy", {"role": "Backend Engineer"},
     "Backend Engineer", {}),
    ("hrstack-ats-keywords", "/v1/ats-keywords", {"job_description": A.JD_TEXT}, A.JD_TEXT, {}),
    ("hrstack-match", "/v1/match", MATCH_BODY, json.dumps(MATCH_BODY), {}),
    ("hrstack-rank", "/v1/rank", RANK_BODY, json.dumps(RANK_BODY), {}),
]  # fmt: skip


def _chat(model: str, text: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": text},
        ],
        **extra,
    }
    if fields:
        body["hrstack"] = {"fields": fields}
    return body


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "id"}


def test_models_are_one_per_domain_with_their_task_routes(make_client):
    listed = make_client(FakeEngine()).get("/v1/models").json()
    assert listed["object"] == "list"
    routes = {card["id"]: card["task_route"] for card in listed["data"]}
    assert routes == {model: path for model, path, *_ in CASES}
    streams = {card["id"] for card in listed["data"] if card["streams"]}
    assert streams == {m for m in routes if m not in ("hrstack-match", "hrstack-rank")}


@pytest.mark.parametrize(("model", "path", "task", "text", "fields"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_chat_runs_the_task_routes_path_and_reports_the_same(
    make_client, model, path, task, text, fields
):
    by_route, by_chat = FakeEngine(A.in_shape), FakeEngine(A.in_shape)
    direct = make_client(by_route).post(f"{path}?seed=5", json=task)
    body = _chat(model, text, fields, seed=5)
    chat = make_client(by_chat).post("/v1/chat/completions", json=body)
    assert direct.status_code == chat.status_code == 200, chat.text
    assert by_chat.payloads == by_route.payloads  # the very same prompts, seeds and constraints
    completion, report = chat.json(), direct.json()
    assert _without_ids(completion["hrstack"]) == _without_ids(report)
    assert completion["object"] == "chat.completion" and completion["model"] == model
    assert completion["id"] == f"chatcmpl-{chat.headers['x-request-id']}"
    choice = completion["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert completion["usage"] == report["usage"]
    if model == "hrstack-rank":
        verdict = json.loads(choice["message"]["content"])["results"][0]
        assert verdict["candidate_id"] == "c-7"
        assert verdict["decision"] == report["results"][0]["decision"]
    else:
        assert choice["message"]["content"] == report["text"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (_chat("gpt-4o", "hello"), "model"),
        (_chat("hrstack-rank", "a resume in plain text"), "messages[1].content"),
        (_chat("hrstack-rank", "{not json"), "messages[1].content"),
        (_chat("hrstack-resume-guidance", "   "), "messages[1].content.resume"),
        (_chat("hrstack-resume-guidance", A.RESUME_TEXT, {"resume": "again"}),
         "hrstack.fields.resume"),
        (_chat("hrstack-resume-guidance", A.RESUME_TEXT, {"target_role": "x" * 201}),
         "hrstack.fields.target_role"),
        (_chat("hrstack-resume-guidance", A.RESUME_TEXT, {"salary": "high"}),
         "hrstack.fields.salary"),
        (_chat("hrstack-match", json.dumps({"resume": A.RESUME_TEXT})),
         "messages[1].content.job_description"),
        ({"model": "hrstack-ats-keywords", "messages": [{"role": "system", "content": "x"}]},
         "messages"),
        ({"model": "hrstack-ats-keywords", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]},
         "messages[0].content[0].type"),
        (_chat("hrstack-ats-keywords", A.JD_TEXT, n=2), "body.n"),
        (_chat("hrstack-ats-keywords", A.JD_TEXT, seed=-1), "body.seed"),
        ({"model": "hrstack-ats-keywords"}, "body.messages"),
        ({**_chat("hrstack-ats-keywords", A.JD_TEXT), "hrstack": {"strict": True},
          "stream": True}, "hrstack.strict"),
    ],
    ids=["unknown-model", "rank-plain-text", "rank-bad-json", "blank-resume", "given-twice",
         "field-too-long", "unknown-field", "match-missing-field", "no-user-message",
         "image-part", "n", "seed", "no-messages", "stream-strict"],
)  # fmt: skip
def test_a_request_that_cannot_be_mapped_is_a_400_naming_the_field(make_client, body, param):
    engine = FakeEngine(A.in_shape)
    response = make_client(engine).post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    assert engine.payloads == []  # refused before any engine time was spent


@pytest.mark.parametrize("key", ["tools", "response_format", "logprobs"])
def test_what_the_door_cannot_honour_is_refused_not_ignored(make_client, key):
    value = True if key == "logprobs" else [{"type": "function"}] if key == "tools" else {"a": 1}
    body = _chat("hrstack-ats-keywords", A.JD_TEXT, **{key: value})
    response = make_client(FakeEngine(A.in_shape)).post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert f"'{key}' is not supported" in response.json()["error"]["message"]


def test_sampling_knobs_are_accepted_and_the_domains_own_apply(make_client):
    engine = FakeEngine(A.in_shape)
    body = _chat("hrstack-ats-keywords", A.JD_TEXT, temperature=1.7, max_tokens=3, top_p=0.1)
    response = make_client(engine).post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert engine.payloads[0]["max_tokens"] > 3 and engine.payloads[0]["temperature"] != 1.7


def test_strict_and_a_failed_answer_is_the_task_routes_422(make_client):
    engine = FakeEngine([A.JD_NO_REQUIREMENTS] * 5)
    body = {**_chat("hrstack-job-description", "Data Engineer"), "hrstack": {"strict": True}}
    response = make_client(engine).post("/v1/chat/completions", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "answer_failed_validation"


def test_keys_guard_the_door_like_any_task_route(make_client):
    client = make_client(FakeEngine(A.in_shape), api_keys=["chat-door-key-0123456789"])
    body = _chat("hrstack-ats-keywords", A.JD_TEXT)
    assert client.get("/v1/models").status_code == 401
    refused = client.post("/v1/chat/completions", json=body)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    headers = {"Authorization": "Bearer chat-door-key-0123456789"}
    assert client.post("/v1/chat/completions", json=body, headers=headers).status_code == 200


def _events(response) -> list[Any]:
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in response.text.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines]


@pytest.mark.parametrize(("reply", "valid"), [(A.RESUME_OK, True), (A.RESUME_DEGENERATE, False)])
def test_a_stream_is_the_answer_in_pieces_then_its_report(make_client, reply, valid):
    engine = FakeEngine([reply])
    body = _chat("hrstack-resume-guidance", A.RESUME_TEXT, stream=True, seed=3,
                 stream_options={"include_usage": True})  # fmt: skip
    events = _events(make_client(engine).post("/v1/chat/completions", json=body))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert len([p for p in pieces if p]) > 3  # sent as written, not at the end
    final, usage = chunks[-2], chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    report = final["hrstack"]
    assert "".join(pieces) == report["text"] == assemble_answer_for_resume(reply)
    assert report["valid"] is valid and report["attempts"] == 1
    assert len(engine.payloads) == 1  # no retry once the client has read the answer
    assert usage["choices"] == [] and usage["usage"] == report["usage"]


def assemble_answer_for_resume(reply: str) -> str:
    return ("1. " + reply.lstrip(" \t")).rstrip()


def test_a_decision_streams_whole_once_decided_and_is_audited(make_client, tmp_path):
    engine = FakeEngine(A.in_shape)
    client = make_client(engine, audit_log_path=tmp_path / "audit.jsonl")
    body = _chat("hrstack-rank", json.dumps(RANK_BODY), stream=True)
    events = _events(client.post("/v1/chat/completions", json=body))
    content = [e["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert json.loads(content[0])["results"][0]["candidate_id"] == "c-7"
    assert events[-2]["hrstack"]["results"][0]["candidate_id"] == "c-7"
    record = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[0])
    assert record["candidate_id"] == "c-7"


class _DiesMidStream(FakeEngine):
    async def chat_stream(self, payload):
        self.payloads.append(payload)
        yield " Quantify"
        raise UpstreamTimeout("the model server stopped streaming (ReadTimeout)")


def test_an_engine_failure_mid_stream_is_an_error_event(make_client):
    body = _chat("hrstack-resume-guidance", A.RESUME_TEXT, stream=True)
    events = _events(make_client(_DiesMidStream()).post("/v1/chat/completions", json=body))
    assert events[1]["choices"][0]["delta"]["content"] == "1. Quantify"
    assert events[-1]["error"]["code"] == "upstream_timeout"


def test_an_engine_failure_before_the_first_token_is_a_plain_error(make_client):
    engine = FakeEngine([UpstreamTimeout("the model server did not answer in time")])
    body = _chat("hrstack-resume-guidance", A.RESUME_TEXT, stream=True)
    response = make_client(engine).post("/v1/chat/completions", json=body)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


_TEXT = st.text(alphabet=st.sampled_from(list("ab \t\n.1")), max_size=30)


@given(seed=st.sampled_from(["", "1. "]), raw=_TEXT, cuts=st.lists(st.integers(0, 30)))
def test_streamed_pieces_join_to_the_assembled_answer(seed, raw, cuts):
    domain = DomainConfig.model_construct(seed=seed or None)
    edges = _Edges(seed)
    bounds = sorted({0, len(raw), *(c for c in cuts if c <= len(raw))})
    pieces = [edges.feed(raw[a:b]) for a, b in itertools.pairwise(bounds)]
    assert "".join([*pieces, edges.rest()]) == assemble_answer(domain, raw)

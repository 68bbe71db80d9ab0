"""Auth, audit and cancellation on the live stack (the session gateway runs with API_KEYS set)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hrstack.server.audit.log import read_records
from tests.integration.conftest import API_KEY
from tests.integration.test_gateway import JD, RESUME, WEAK

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sample(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_no_key_is_401_and_probes_stay_open(gateway):
    response = httpx.post(f"{gateway.url}/v1/rank", json={"job_description": JD, "candidate": WEAK})
    assert response.status_code == 401
    assert httpx.get(f"{gateway.url}/readyz").status_code == 200


def test_each_answered_decision_is_one_audit_line(gateway, client):
    body = {
        "job_description": JD,
        "candidates": [
            {"id": "audit-strong", "resume": RESUME},
            {"id": "audit-weak", "resume": WEAK},
        ],
    }
    response = client.post("/v1/rank?max_attempts=1", json=body, headers={"X-Request-ID": "aud-1"})
    assert response.status_code == 200
    records = [r for r in read_records(gateway.audit_path) if r["request_id"] == "aud-1"]
    assert sorted(r["candidate_id"] for r in records) == ["audit-strong", "audit-weak"]
    by_id = {r["candidate_id"]: r for r in records}
    for result in response.json()["results"]:
        record = by_id[result["candidate_id"]]
        assert (record["decision"], record["score"]) == (result["decision"], result["score"])
        assert record["model"] == "hrstack" and record["redacted"] == result["redacted"]
    assert "Jane" not in gateway.audit_path.read_text(), "the candidate's name is not logged"


def test_each_answered_match_is_one_audit_line(gateway, client):
    """/v1/match is a screening decision: audited like rank, with its recommendation."""
    body = {"job_description": JD, "resume": RESUME, "candidate_id": "audit-match"}
    response = client.post("/v1/match?max_attempts=1", json=body, headers={"X-Request-ID": "aud-m"})
    assert response.status_code == 200, response.text
    answer = response.json()
    (record,) = [r for r in read_records(gateway.audit_path) if r["request_id"] == "aud-m"]
    assert record["domain"] == "job_resume_match" and record["candidate_id"] == "audit-match"
    assert (record["decision"], record["score"], record["status"]) == (
        answer["decision"], answer["score"], answer["status"],
    )  # fmt: skip
    assert record["redacted"] == answer["redacted"] and answer["redacted"].get("name")
    assert "Jane" not in gateway.audit_path.read_text(), "the candidate's name is not logged"


#: Six candidates ranked at once: a few seconds of generation even on a fast machine, where one
#: constrained job description (~150 tokens) could finish before a poll saw it running.
HANG_UP_BATCH = {
    "job_description": JD,
    "candidates": [{"id": f"hang-{i}", "resume": r} for i, r in enumerate([RESUME, WEAK] * 3)],
}


def _log_count(path: Path, text: str) -> int:
    return path.read_text(errors="replace").count(text)


def test_a_client_that_hangs_up_stops_the_generation_in_vllm(vllm_server, gateway):
    """Hang up once vLLM is working on the request: the gateway cancels its calls, vLLM drops them.

    The batch is answered in full first (seeded, one attempt) to measure what it costs in
    generated tokens; then the same batch again, hung up once vLLM has received every one of its
    calls. vLLM must log every call of that request aborted, stop generating, and have generated
    under half the full answer's tokens. "Received" is read from vLLM's own request log, a file
    here, not from its /metrics: on a saturated 2-core CI runner vLLM's API server answered
    /metrics so late that no poll saw the generation counter move before the 5 s answer was
    back (stop 29; an earlier run saw the same of the ``num_requests_running`` gauge).
    """

    def vllm(name: str) -> float:
        return _sample(vllm_server.url, name)

    headers = {"Authorization": f"Bearer {API_KEY}"}
    path = "/v1/rank?max_attempts=1&seed=11"
    rid = f"hang-up-{uuid.uuid4().hex[:12]}"
    before = vllm("vllm:generation_tokens_total")
    started = time.monotonic()
    full = httpx.post(f"{gateway.url}{path}", json=HANG_UP_BATCH, headers=headers, timeout=300)
    full_s = time.monotonic() - started
    assert full.status_code == 200, full.text
    full_tokens = vllm("vllm:generation_tokens_total") - before

    async def hang_up_mid_answer() -> None:
        async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=300) as c:
            started = time.monotonic()
            call = asyncio.ensure_future(
                c.post(path, json=HANG_UP_BATCH, headers={"X-Request-ID": rid})
            )
            received = 0
            # Poll the log without blocking the loop the call runs on, and stop at once if the
            # call ends before vLLM had every call: then its answer says why.
            while time.monotonic() < started + 60 and not call.done():
                received = _log_count(vllm_server.log_path, f"Received request chatcmpl-{rid}")
                if received >= calls:
                    break
                await asyncio.sleep(0.05)
            if call.done():
                answer = call.result()
                pytest.fail(
                    f"answered before the hang-up: {answer.status_code} after "
                    f"{time.monotonic() - started:.1f} s (full answer: {full_s:.1f} s, "
                    f"{full_tokens:g} tokens); {answer.text[:400]}"
                )
            assert received >= calls, f"vLLM received {received} of {calls} calls in 60 s"
            await asyncio.sleep(0.5)
            call.cancel()  # the client goes away: httpx closes the connection
            with contextlib.suppress(asyncio.CancelledError):
                await call

    calls = len(HANG_UP_BATCH["candidates"])
    tokens_before = vllm("vllm:generation_tokens_total")
    cancelled = _sample(gateway.url, "hrstack_cancelled_total", cause="client_disconnect")
    asyncio.run(hang_up_mid_answer())
    deadline = time.monotonic() + 30  # an abort lands after the engine step it arrived in
    aborted = f"Request chatcmpl-{rid} aborted"
    while _log_count(vllm_server.log_path, aborted) < calls and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _log_count(vllm_server.log_path, aborted) == calls, "vLLM was not told to stop"
    settled = vllm("vllm:generation_tokens_total")
    time.sleep(2)
    assert vllm("vllm:generation_tokens_total") == settled, "vLLM is still generating for nobody"
    hung_up_tokens = settled - tokens_before
    assert hung_up_tokens < full_tokens / 2, (hung_up_tokens, full_tokens)
    after = _sample(gateway.url, "hrstack_cancelled_total", cause="client_disconnect")
    assert after == cancelled + 1

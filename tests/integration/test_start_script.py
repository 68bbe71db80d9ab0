"""The RunPod entrypoint, run for real on CPU: deploy/runpod/start.sh -> preflight -> hrstack serve.

The container cannot be built here (no Docker engine), so this runs the same script the image
runs, on this machine: it must plan, launch vLLM and the gateway, become ready, and on SIGTERM
(what RunPod sends) stop both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.stack import VLLM_START_TIMEOUT_S, free_port, tail, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_script_serves_on_cpu_and_stops_on_sigterm(tmp_path: Path) -> None:
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
        "CPU_KVCACHE_SPACE_GIB": "1",
        "MAX_NUM_SEQS": "4",
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
        proc.send_signal(signal.SIGTERM)  # start.sh exec'd the launcher: same pid
        assert proc.wait(timeout=60) == 0, tail(log_path)
        assert not _port_open(engine_port), "vLLM must be stopped with the gateway"
        assert not _port_open(port)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = log_path.read_text(errors="replace")
    assert "FITS" in log and "hrstack is ready" in log

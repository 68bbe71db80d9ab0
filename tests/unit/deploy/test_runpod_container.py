"""The container assets: a pinned Dockerfile whose entrypoint is start.sh, and start.sh itself.

No Docker engine is available where these tests run, so the Dockerfile is parsed, not built;
start.sh runs for real in its dry-run mode (the same settings and planner, nothing started).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[3] / "deploy" / "runpod"
REPO = ASSETS.parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (ASSETS / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(p[0].upper(), p[1] if len(p) > 1 else "") for p in pairs]


def only(name: str) -> str:
    found = [args for inst, args in instructions() if inst == name]
    assert len(found) == 1, f"expected one {name}, found {found}"
    return found[0]


def test_base_image_is_the_official_vllm_image_pinned_by_version() -> None:
    image = only("FROM").split()[0]
    repo, _, tag = image.partition(":")
    assert repo == "vllm/vllm-openai"
    assert tag.startswith("v0.32.0") and "latest" not in tag
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"vllm==0.32.0"' in pyproject  # the image's vLLM is the one hrstack pins


def test_entrypoint_is_tini_then_the_start_script() -> None:
    entrypoint = json.loads(only("ENTRYPOINT"))
    assert entrypoint[0].endswith("tini") and entrypoint[1] == "--"
    assert entrypoint[-1].endswith("deploy/runpod/start.sh")


def test_health_port_and_install() -> None:
    assert "/readyz" in only("HEALTHCHECK") and "--start-period" in only("HEALTHCHECK")
    assert only("EXPOSE") == "8000"
    runs = " ".join(args for inst, args in instructions() if inst == "RUN")
    assert 'pip install --no-cache-dir -e ".[serve]"' in runs


def test_start_script_is_valid_bash_and_execs_the_launcher() -> None:
    script = ASSETS / "start.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert os.access(script, os.X_OK)
    assert 'exec hrstack serve "$@"' in script.read_text()


def run_start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """start.sh with HRSTACK_DRY_RUN=1 and a clean environment (no GPU here: cpu profile)."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "HRSTACK_VOLUME": str(tmp_path / "volume"),
        "HRSTACK_PYTHON": sys.executable,
        "HRSTACK_DRY_RUN": "1",
    }
    return subprocess.run(
        ["bash", str(ASSETS / "start.sh"), "--port", "9000"],
        cwd=REPO, env=base | env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_dry_run_prints_the_resolved_profile_plan_and_command(tmp_path: Path) -> None:
    done = run_start(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"HF_HOME={tmp_path}/volume/huggingface" in out
    assert "PROFILE=auto -> cpu" in out or "-> " in out  # a GPU runner would pick its profile
    assert "FITS:" in out
    assert out.rstrip().endswith("dry run: exec hrstack serve --port 9000")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_plan_that_cannot_fit_stops_the_start(tmp_path: Path) -> None:
    done = run_start(tmp_path, PROFILE="16gb", QUANTIZATION="none", MODEL="qwen2.5-7b")
    assert done.returncode == 3
    assert "REFUSED: weights" in done.stdout and "QUANTIZATION=bitsandbytes" in done.stdout
    assert "exec hrstack serve" not in done.stdout
    skipped = run_start(
        tmp_path, PROFILE="16gb", QUANTIZATION="none", MODEL="qwen2.5-7b", HRSTACK_SKIP_PLAN="1"
    )
    assert skipped.returncode == 0 and "dry run: exec hrstack serve" in skipped.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_plan_is_for_the_embedded_model_that_will_serve(tmp_path: Path) -> None:
    """The default (Qwen2.5-0.5B) plans Qwen's shape; EMBEDDED_MODEL=smollm2-135m plans
    SmolLM2's, not the default's."""
    small = run_start(tmp_path, PROFILE="cpu", EMBEDDED_MODEL="smollm2-135m")
    assert small.returncode == 0, small.stdout + small.stderr
    assert "model embedded smollm2-135m;" in small.stdout and "qwen" not in small.stdout
    done = run_start(tmp_path, PROFILE="cpu")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model embedded qwen2.5-0.5b;" in done.stdout
    assert "model qwen2.5-0.5b: 0.63B params on CPU" in done.stdout
    assert "KV per token 24,576 B" in done.stdout  # 24 layers x 2 KV heads x 64 x K,V x fp32

"""The RunPod image: a pinned vLLM base, the gateway in its own venv, start.sh as entrypoint.

No Docker engine is available where these tests run, so the Dockerfile is parsed, not built
(the rules both images share are in test_container.py); start.sh runs for real in its dry-run
mode (the same settings and planner, nothing started).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hrstack.server.embedded_model import cpu_has_bf16
from tests.unit.deploy.dockerfiles import RUNPOD, commands, copy_args, env, exec_form, of, stages

ASSETS = RUNPOD.parent
REPO = ASSETS.parents[1]
VENV = "/opt/hrstack/venv"


def test_base_image_is_the_official_vllm_image_pinned_by_version() -> None:
    image, *build_stages = (stage.parent for stage in stages(RUNPOD))
    repo, _, tag = image.partition(":")
    assert repo == "vllm/vllm-openai"
    assert tag.startswith("v0.32.0") and "latest" not in tag
    names = {stage.name for stage in stages(RUNPOD)}
    assert set(build_stages) <= names, "every later stage builds on this file's own stages"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"vllm==0.32.0"' in pyproject  # the image's vLLM is the one hrstack pins


def test_entrypoint_is_tini_then_the_start_script() -> None:
    entrypoint = exec_form(of(RUNPOD, "ENTRYPOINT", final=True)[-1])
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]
    copied = {copy_args(c)[2]: copy_args(c)[1] for c in of(RUNPOD, "COPY", final=True)}
    assert copied[entrypoint[-1]] == ["deploy/runpod/start.sh"]


def test_gateway_and_vllm_keep_their_own_pythons() -> None:
    """vLLM's environment is the base image's, untouched: the lock and the wheel go into a venv,
    the launcher runs vLLM with ENGINE_PYTHON, and start.sh's preflight with HRSTACK_PYTHON."""
    from hrstack.server.settings import Settings

    values = env(RUNPOD)
    assert "engine_python" in Settings.model_fields
    assert values["ENGINE_PYTHON"] == "python3" and VENV not in values.get("PATH", "")
    assert values["HRSTACK_PYTHON"] == f"{VENV}/bin/python"
    runs = [c for s in of(RUNPOD, "RUN", final=True) for c in commands(s)]
    assert f"python3 -m venv {VENV}" in runs
    assert f"ln -s {VENV}/bin/hrstack /usr/local/bin/hrstack" in runs  # `exec hrstack serve`
    installs = [c for s in of(RUNPOD, "RUN") for c in commands(s) if "pip install" in c]
    assert all(c.startswith((f"{VENV}/bin/pip ", "/tmp/build/bin/pip ")) for c in installs)
    assert '"$python" -m hrstack.deploy.cli preflight' in (ASSETS / "start.sh").read_text()


def test_the_user_owns_the_volume_and_the_audit_log_lives_there() -> None:
    values = env(RUNPOD)
    volume = values["HRSTACK_VOLUME"]
    assert values["AUDIT_LOG_PATH"].startswith(f"{volume}/")
    runs = [c for s in of(RUNPOD, "RUN", final=True) for c in commands(s)]
    uid = of(RUNPOD, "USER", final=True)[-1].value.split(":")[0]
    made = next(c for c in runs if c.startswith("useradd ") and f"--uid {uid} " in c)
    name = made.split()[-1]
    assert {f"chown {name}:{name} {volume}", f"chown {uid}:{uid} {volume}"} & set(runs)


def test_the_image_serves_the_templates_model() -> None:
    """The embedded PyPI models need torch in the gateway's venv; the image serves MODEL."""
    from hrstack.deploy.runpod_template import DEFAULT_MODEL

    assert env(RUNPOD)["MODEL"] == DEFAULT_MODEL


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
    # 24 layers x 2 KV heads x 64 x K,V x 4 bytes (fp32), or 2 where this CPU serves bf16
    kv_bytes = "12,288" if cpu_has_bf16() else "24,576"
    assert f"KV per token {kv_bytes} B" in done.stdout, done.stdout

"""A real `hrstack train sft` process killed with SIGKILL mid-run resumes from its last saved
checkpoint, and nothing is lost: no check is logged twice, every checkpoint the gate allowed
exists, and the resumed run ends with the same weights as a run that was never killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hrstack.training.config import TrainConfig
from hrstack.training.data import run_data
from hrstack.training.gating import GateLog
from hrstack.training.sft import DONE_FILE, run_sft
from tests.unit.training.test_sft_gate import checkpoints, tiny_config

pytestmark = pytest.mark.slow

STEPS = 8


def _config(run_dir: Path, model: Path) -> TrainConfig:
    cfg = tiny_config(run_dir, model, threshold=0.0)  # every check may save
    return cfg.model_copy(update={"sft": cfg.sft.model_copy(update={"max_steps": STEPS})})


def _write_yaml(cfg: TrainConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude={"run_dir"})))
    return path


def _adapter(checkpoint: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "adapter_model.safetensors"))


def _kill_after_first_checkpoint(config: Path, run_dir: Path, log: Path) -> None:
    """Start the CLI stage and SIGKILL it (no cleanup, no atexit) once a checkpoint is on disk."""
    cmd = [sys.executable, "-c", "from hrstack.server.cli import main; main()", "train", "sft",
           "--config", str(config), "--run-dir", str(run_dir)]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    # HF writes trainer_state.json last: its presence means the checkpoint is complete.
    first = run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.monotonic() + 600
    while not first.exists():
        if proc.poll() is not None:
            pytest.fail(f"sft exited ({proc.returncode}) before its first checkpoint:\n"
                        f"{log.read_text()[-3000:]}")  # fmt: skip
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no checkpoint within 600 s")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_run_resumes_and_loses_nothing(tmp_path, tiny_model, domains, rules):
    reference = _config(tmp_path / "reference", tiny_model)
    run_data(reference, domains, rules)
    expected = run_sft(reference, domains, rules)
    assert expected["saved"] == [2, 4, 6, 8]

    cfg = _config(tmp_path / "killed", tiny_model)
    run_data(cfg, domains, rules)
    config = _write_yaml(cfg, tmp_path / "tiny.yaml")
    _kill_after_first_checkpoint(config, cfg.paths.root, tmp_path / "killed.log")

    assert not (cfg.paths.checkpoints / DONE_FILE).exists(), "the kill came after the run ended"
    before = checkpoints(cfg)
    survived = [c for c in before if (cfg.paths.checkpoints / c / "trainer_state.json").exists()]
    assert survived, before
    resumed = run_sft(cfg, domains, rules)

    assert resumed["resumed_from"] is not None
    assert Path(resumed["resumed_from"]).name == survived[-1]
    assert resumed["steps"] == STEPS
    assert resumed["saved"] == expected["saved"] and resumed["blocked"] == []
    assert checkpoints(cfg) == checkpoints(reference)
    # One decision per check: the killed run's decisions after the resumed step were superseded.
    assert [d["step"] for d in GateLog(cfg.paths.gating_log).read()] == [2, 4, 6, 8]
    # Same data order, optimizer and RNG state after resume: the same final adapter.
    import torch

    got = _adapter(cfg.paths.checkpoints / f"checkpoint-{STEPS}")
    want = _adapter(reference.paths.checkpoints / f"checkpoint-{STEPS}")
    assert got.keys() == want.keys()
    worst = max(float((got[k] - want[k]).abs().max()) for k in want)  # type: ignore[operator]
    assert worst < 1e-4, f"resumed weights differ from an uninterrupted run by {worst}"
    assert all(isinstance(v, torch.Tensor) for v in got.values())
    summary = json.loads((cfg.paths.checkpoints / DONE_FILE).read_text())
    assert summary == resumed

"""Data-parallel training (training.distributed): the launch, the global-batch rule, and real
2-process CPU DDP runs (torchrun, gloo) of the tiny model against one process with the same
global batch: same loss curve and final adapter within a stated tolerance, one decision per
check, each checkpoint written once, a killed 2-process run that resumes, and a run that stops
with whatever launched it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hrstack.training import distributed
from hrstack.training.config import TrainConfig
from hrstack.training.data import run_data
from hrstack.training.gating import DECISION_FILE, GateLog
from hrstack.training.sft import DONE_FILE, run_sft
from tests.unit.training.test_sft_gate import checkpoints, tiny_config

REPO = Path(__file__).resolve().parents[3]
ACCELERATE_CONFIGS = sorted((REPO / "configs" / "accelerate").glob("*.yaml"))
STEPS = 6
#: How close a 2-process run must come to one process with the same global batch. Both see the
#: same rows in every step and compute the same mean loss; only the order of floating-point
#: sums differs (each rank's half, then gloo's all-reduce). Measured on this tiny model (fp32):
#: loss curves within 9.5e-7, adapter weights within 1.4e-7 after 6 AdamW steps at lr 1e-3.
LOSS_TOLERANCE = 1e-5
ADAPTER_TOLERANCE = 1e-5


# ---- the rule and the launch (fast) ---------------------------------------------------------


def test_the_config_batch_is_the_global_batch():
    assert distributed.per_process(8, "sft.batch_size", 1) == 8
    assert distributed.per_process(8, "sft.batch_size", 2) == 4
    assert distributed.per_process(8, "sft.batch_size", 8) == 1
    with pytest.raises(ValueError, match=r"sft.batch_size=6 cannot be split evenly over 4"):
        distributed.per_process(6, "sft.batch_size", 4)


def test_cpu_runs_launch_through_torchrun_and_gpus_through_accelerate(tmp_path):
    args = ["--config", "c.yaml", "--set", "sft.max_steps=4"]
    cpu = distributed.launch_command("sft", args, 2, None, cuda=False)
    assert cpu[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc-per-node=2" in cpu
    assert cpu[-7:] == ["hrstack.server.cli", "train", "sft", *args]
    config = tmp_path / "fsdp.yaml"
    gpu = distributed.launch_command("grpo", args, 4, config, cuda=True)
    assert gpu[1:3] == ["-m", "accelerate.commands.launch"]
    assert gpu[gpu.index("--config_file") + 1] == str(config)
    assert gpu[gpu.index("--num_processes") + 1] == "4"
    assert gpu[-6:-4] == ["train", "grpo"]
    assert "--multi_gpu" in distributed.launch_command("sft", args, 2, None, cuda=True)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hrstack.server.cli", "train", *args]
    env = {**os.environ, "COLUMNS": "400"}  # rich's error box would wrap the message
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def test_an_uneven_split_is_refused_before_anything_starts():
    done = _cli("sft", "--num-processes", "3", "--set", "sft.batch_size=8", "--run-dir", "/nx")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "sft.batch_size=8 cannot be split evenly over 3 processes" in done.stderr
    done = _cli("sft", "--num-processes", "2", "--set", "sft.backend=unsloth", "--run-dir", "/nx")
    assert done.returncode == 2 and "unsloth backend trains on one GPU" in done.stderr


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.stem)
def test_shipped_accelerate_configs_load(path):
    """accelerate's own loader reads each (no GPU ran them: unverified beyond this)."""
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType

    config = load_config_from_file(str(path))
    want = {
        "ddp": DistributedType.MULTI_GPU,
        "fsdp": DistributedType.FSDP,
        "deepspeed-zero2": DistributedType.DEEPSPEED,
        "deepspeed-zero3": DistributedType.DEEPSPEED,
    }
    assert config.distributed_type == want[path.stem]
    assert not config.use_cpu and config.num_machines == 1
    assert config.mixed_precision == "no", "the training config's bf16 decides, not the launcher"
    if path.stem == "fsdp":
        import transformers.models.qwen2.modeling_qwen2 as qwen2

        layer = config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"]
        assert hasattr(qwen2, layer), f"{layer} is not the production model's decoder layer"
    if path.stem.startswith("deepspeed"):
        assert config.deepspeed_config["zero_stage"] == int(path.stem[-1])
    assert "no GPU ran it" in path.read_text()


def test_every_accelerate_config_is_shipped():
    assert {p.stem for p in ACCELERATE_CONFIGS} == {
        "ddp", "fsdp", "deepspeed-zero2", "deepspeed-zero3",
    }  # fmt: skip


# ---- real 2-process runs (slow) -------------------------------------------------------------


def _config(run_dir: Path, model: Path) -> TrainConfig:
    cfg = tiny_config(run_dir, model, threshold=0.0)  # every check may save
    sft = cfg.sft.model_copy(
        update={"max_steps": STEPS, "batch_size": 4, "group_by_length": False}
    )  # same rows per step on 1 and 2 processes (length grouping forms groups per process)
    # Two checks of one short-answer prompt: the random model writes to max_tokens, and the
    # checks' content is test_sft_gate's business; here only who runs them matters.
    checks = cfg.eval.model_copy(update={"every_steps": 3, "quotas": {"ats_keywords": 1}})
    return cfg.model_copy(update={"sft": sft, "eval": checks})


def _write_yaml(cfg: TrainConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude={"run_dir"})))
    return path


def _ddp_command(config: Path, run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "hrstack.server.cli", "train", "sft", "--config", str(config),
            "--run-dir", str(run_dir), "--num-processes", "2"]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "MASTER_PORT": "0"}  # torchrun --standalone picks a free port


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the CLI, torchrun and both ranks at once, as a lost machine would: torchrun starts
    each rank in a session of its own, so killing the launcher's process group leaves the ranks
    running (they would finish the run on their own)."""
    import psutil

    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    assert len(tree) >= 4, [p.cmdline()[:4] for p in tree]  # cli, torchrun, rank 0, rank 1
    for process in tree:
        process.send_signal(signal.SIGKILL)


def _adapter(checkpoint: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "adapter_model.safetensors"))


def _worst(a: dict[str, object], b: dict[str, object]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)  # type: ignore[operator]


def _losses(run_dir: Path) -> dict[int, float]:
    history = json.loads((run_dir / "log_history.json").read_text())
    return {entry["step"]: entry["loss"] for entry in history if "loss" in entry}


@pytest.fixture(scope="module")
def single(tmp_path_factory, tiny_model, domains, rules) -> TrainConfig:
    cfg = _config(tmp_path_factory.mktemp("single"), tiny_model)
    run_data(cfg, domains, rules)
    run_sft(cfg, domains, rules)
    return cfg


@pytest.fixture(scope="module")
def ddp(tmp_path_factory, tiny_model, domains, rules) -> tuple[TrainConfig, str]:
    base = tmp_path_factory.mktemp("ddp")
    cfg = _config(base / "run", tiny_model)
    run_data(cfg, domains, rules)
    done = subprocess.run(
        _ddp_command(_write_yaml(cfg, base / "tiny.yaml"), cfg.paths.root),
        capture_output=True, text=True, cwd=REPO, env=_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return cfg, done.stdout


@pytest.mark.slow
def test_two_processes_train_what_one_process_trains(single, ddp):
    cfg, stdout = ddp
    summary = json.loads((cfg.paths.checkpoints / DONE_FILE).read_text())
    assert summary["processes"] == 2 and summary["steps"] == STEPS
    assert stdout.count('"processes": 2') == 1, "one summary printed, by the main process"
    one, two = _losses(single.paths.root), _losses(cfg.paths.root)
    assert one.keys() == two.keys() and len(one) >= STEPS
    worst_loss = max(abs(one[s] - two[s]) for s in one)
    assert worst_loss < LOSS_TOLERANCE, f"loss curves differ by {worst_loss}"
    final = f"checkpoint-{STEPS}"
    worst = _worst(
        _adapter(cfg.paths.checkpoints / final), _adapter(single.paths.checkpoints / final)
    )
    assert worst < ADAPTER_TOLERANCE, f"final adapters differ by {worst}"
    print(f"1 vs 2 processes: loss {worst_loss:.2e}, adapter {worst:.2e}")


@pytest.mark.slow
def test_checks_and_checkpoints_happen_once(single, ddp):
    cfg, _ = ddp
    # One decision per check (the main process's), one set of checkpoints, each complete.
    assert [d["step"] for d in GateLog(cfg.paths.gating_log).read()] == [3, 6]
    assert checkpoints(cfg) == checkpoints(single) == ["checkpoint-3", "checkpoint-6"]
    for name in checkpoints(cfg):
        saved = cfg.paths.checkpoints / name
        assert (saved / DECISION_FILE).is_file()
        assert {p.name for p in saved.glob("rng_state*.pth")} == {
            "rng_state_0.pth",
            "rng_state_1.pth",
        }
    assert sorted(p.name for p in (cfg.paths.root / "checks").glob("*.jsonl")) == [
        "step-3.jsonl", "step-6.jsonl",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.heavy
def test_a_killed_two_process_run_resumes(tmp_path, tiny_model, domains, rules, ddp):
    reference, _ = ddp
    cfg = _config(tmp_path / "killed", tiny_model)
    run_data(cfg, domains, rules)
    config = _write_yaml(cfg, tmp_path / "tiny.yaml")
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            _ddp_command(config, cfg.paths.root), stdout=out, stderr=subprocess.STDOUT,
            cwd=REPO, env=_env(), start_new_session=True,
        )  # fmt: skip
    first = cfg.paths.checkpoints / "checkpoint-3" / "trainer_state.json"
    deadline = time.monotonic() + 600
    while not first.exists():
        if proc.poll() is not None:
            pytest.fail(
                f"exited ({proc.returncode}) before a checkpoint:\n{log.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no checkpoint within 600 s")
        time.sleep(0.05)
    _kill_tree(proc)
    proc.wait()
    assert not (cfg.paths.checkpoints / DONE_FILE).exists(), "the kill came after the run ended"

    done = subprocess.run(
        _ddp_command(config, cfg.paths.root), capture_output=True, text=True, cwd=REPO,
        env=_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    summary = json.loads((cfg.paths.checkpoints / DONE_FILE).read_text())
    assert summary["resumed_from"] is not None and summary["steps"] == STEPS
    assert [d["step"] for d in GateLog(cfg.paths.gating_log).read()] == [3, 6]
    final = f"checkpoint-{STEPS}"
    worst = _worst(
        _adapter(cfg.paths.checkpoints / final), _adapter(reference.paths.checkpoints / final)
    )
    assert worst < 1e-4, f"resumed 2-process weights differ from an uninterrupted run by {worst}"


def _start_and_follow(
    config: Path, run_dir: Path, log: Path
) -> tuple[subprocess.Popen[bytes], Any]:
    """Start a 2-process run; return it once both ranks have asked to die with the launcher,
    with the launcher (torchrun, the CLI's only child) as a psutil.Process."""
    import psutil

    with log.open("w") as out:
        proc = subprocess.Popen(
            _ddp_command(config, run_dir), stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            env=_env(), start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 300
    while log.read_text().count("stops if its launcher") < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"ranks did not start ({proc.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    (launcher,) = psutil.Process(proc.pid).children()
    assert "torch.distributed.run" in launcher.cmdline()
    assert len(launcher.children()) == 2, [c.cmdline()[:4] for c in launcher.children()]
    return proc, launcher


def _still_running(processes: list[Any], timeout: float) -> list[Any]:
    """Those of ``processes`` still running after ``timeout`` s; a zombie counts as exited (an
    orphan waits for init to reap it, which a container's init may never do)."""
    import psutil

    def running(process: Any) -> bool:
        try:
            return bool(process.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    while any(map(running, processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in processes if running(p)]


@pytest.mark.slow
def test_a_run_stops_with_whatever_launched_it(tmp_path, tiny_model, domains, rules):
    """SIGKILL the CLI alone (the OOM killer, a lost supervisor), then torchrun alone: each time
    every process of the run exits, so none goes on training into the run directory beside the
    run a user restarts there (torchrun starts each rank in a session of its own)."""
    cfg = _config(tmp_path / "run", tiny_model)
    # Long enough that a rank left running is still running when the test looks (6 steps end
    # in seconds), and no check to save at: nothing here needs one.
    long_run = cfg.sft.model_copy(update={"max_steps": 100_000})
    cfg = cfg.model_copy(
        update={"sft": long_run, "eval": cfg.eval.model_copy(update={"every_steps": 100_000})}
    )
    run_data(cfg, domains, rules)
    config = _write_yaml(cfg, tmp_path / "tiny.yaml")

    seen: list[Any] = []  # every process of both runs, SIGKILLed at the end if still there
    try:
        proc, launcher = _start_and_follow(config, cfg.paths.root, tmp_path / "cli.log")
        ranks = launcher.children()
        seen += [launcher, *ranks]
        proc.send_signal(signal.SIGKILL)  # the CLI only
        proc.wait()
        # torchrun gets SIGTERM and stops its ranks (SIGTERM, then SIGKILL after a grace period)
        alive = _still_running([launcher, *ranks], timeout=90)
        assert not alive, f"running after the CLI was killed: {[p.cmdline()[:6] for p in alive]}"

        proc, launcher = _start_and_follow(config, cfg.paths.root, tmp_path / "torchrun.log")
        ranks = launcher.children()
        seen += [proc, launcher, *ranks]
        launcher.send_signal(signal.SIGKILL)  # torchrun only: each rank has a session of its own
        alive = _still_running(ranks, timeout=30)
        assert not alive, f"ranks running after torchrun was killed: {[p.pid for p in alive]}"
        assert proc.wait(timeout=60) != 0, "the CLI reports the killed launcher"
    finally:
        for process in seen:
            with contextlib.suppress(Exception):
                process.kill()
    assert not (cfg.paths.checkpoints / DONE_FILE).exists()


@pytest.mark.slow
@pytest.mark.heavy
def test_grpo_on_two_processes_logs_and_merges_once(tmp_path, tiny_model):
    """GRPO's global batch (prompts_per_step x num_generations = 2 completions) split one per
    process; the reward log holds one record per step and the merge is written once."""
    from tests.unit.training.test_grpo import _config as grpo_config

    cfg = grpo_config(tmp_path / "run", tiny_model)
    config = _write_yaml(cfg, tmp_path / "grpo.yaml")
    cmd = [sys.executable, "-m", "hrstack.server.cli", "train", "grpo", "--config", str(config),
           "--run-dir", str(cfg.paths.root), "--num-processes", "2"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=_env(), timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    out = cfg.paths.grpo
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    records = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert (out / "merged" / "config.json").is_file()
    assert {p.name for p in (out / "checkpoints" / "checkpoint-2").glob("rng_state*.pth")} == {
        "rng_state_0.pth", "rng_state_1.pth",
    }  # fmt: skip

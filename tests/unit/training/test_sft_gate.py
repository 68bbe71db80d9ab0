"""Real (tiny) SFT runs through TRL: the gate's veto really prevents saves, the trainer can
never pick a 'best' checkpoint behind its back, and a crashed run resumes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hrstack.training.config import TrainConfig
from hrstack.training.data import run_data
from hrstack.training.gating import DECISION_FILE, GateLog
from hrstack.training.sft import DONE_FILE, run_sft, training_args

pytestmark = pytest.mark.slow


def tiny_config(run_dir: Path, model: Path, **gating: float) -> TrainConfig:
    return TrainConfig(
        name="tiny",
        run_dir=run_dir,
        seed=3,
        synth={"rows": 60},
        data={"val_fraction": 0.2, "test_fraction": 0.2},
        model={"base": str(model), "max_length": 512},
        sft={"backend": "hf", "max_steps": 6, "batch_size": 2, "grad_accum": 1,
             "learning_rate": 1e-3, "bf16": False, "gradient_checkpointing": False,
             "logging_steps": 1, "eval_loss_rows": 2},
        eval={"every_steps": 2, "quotas": {"resume_guidance": 1, "ats_keywords": 1, "rank": 1},
              "stabilize_from_step": 4, "batch_size": 4},
        gating={"warmup_steps": 3, **gating},
        merge={"dtype": "float32", "check_prompts": 2, "check_tokens": 8},
    )  # fmt: skip


def checkpoints(cfg: TrainConfig) -> list[str]:
    return sorted(p.name for p in cfg.paths.checkpoints.glob("checkpoint-*"))


def test_trainer_settings_leave_saving_to_the_gate(tmp_path, tiny_model):
    args = training_args(tiny_config(tmp_path, tiny_model), tmp_path)
    assert args.save_strategy == "steps" and args.eval_strategy == "steps"
    assert args.save_steps == args.eval_steps == 2
    assert args.metric_for_best_model is None and not args.load_best_model_at_end
    assert args.save_total_limit is None


def test_blocked_checks_leave_no_checkpoint(tmp_path, tiny_model, domains, rules):
    cfg = tiny_config(tmp_path / "run", tiny_model, threshold=1.0)  # nothing can pass
    run_data(cfg, domains, rules)
    summary = run_sft(cfg, domains, rules)
    assert (summary["saved"], summary["blocked"]) == ([2], [4, 6])
    assert checkpoints(cfg) == ["checkpoint-2"]  # warmup only: the veto really skipped the save
    decisions = GateLog(cfg.paths.gating_log).read()
    assert [(d["step"], d["allowed"], d["mode"]) for d in decisions] == [
        (2, True, "stratified"), (4, False, "stabilized"), (6, False, "stabilized")
    ]  # fmt: skip
    assert all("< threshold 100.0%" in " ".join(d["reasons"]) for d in decisions[1:])
    saved = json.loads((cfg.paths.checkpoints / "checkpoint-2" / DECISION_FILE).read_text())
    assert saved["step"] == 2 and saved["warmup"]
    state = json.loads((cfg.paths.checkpoints / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["best_model_checkpoint"] is None
    assert {"resume_guidance", "ats_keywords", "rank"} == set(decisions[0]["rates"])


def test_a_crashed_run_resumes_from_its_last_saved_checkpoint(tmp_path, tiny_model, domains, rules):
    cfg = tiny_config(tmp_path / "run", tiny_model, threshold=0.0)
    run_data(cfg, domains, rules)
    run_sft(cfg, domains, rules)
    assert checkpoints(cfg) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    # Crash after the check at step 6 was logged but before its save finished.
    shutil.rmtree(cfg.paths.checkpoints / "checkpoint-6")
    (cfg.paths.checkpoints / DONE_FILE).unlink()
    summary = run_sft(cfg, domains, rules)
    assert summary["resumed_from"].endswith("checkpoint-4") and summary["steps"] == 6
    assert checkpoints(cfg) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert [d["step"] for d in GateLog(cfg.paths.gating_log).read()] == [2, 4, 6]
    superseded = cfg.paths.gating_log.with_suffix(".superseded.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in superseded] == [6]
    assert run_sft(cfg, domains, rules) == summary  # finished: a re-run is a no-op


def test_a_different_config_cannot_resume_into_the_same_run(tmp_path, tiny_model, domains, rules):
    cfg = tiny_config(tmp_path / "run", tiny_model, threshold=0.0)
    run_data(cfg, domains, rules)
    run_sft(cfg, domains, rules)
    other = cfg.model_copy(update={"seed": 4})
    with pytest.raises(ValueError, match="different training config"):
        run_sft(other, domains, rules)


def test_train_all_runs_sft_in_a_child_that_gives_its_memory_back(tmp_path, tiny_model):
    """``train all`` end to end on the tiny model, SFT in a spawned process (pipeline.in_child):
    its checkpoints, its summary returned to this process, and the merge and evaluation after
    it, as a real run does."""
    import os

    from hrstack.training import pipeline

    cfg = tiny_config(tmp_path / "run", tiny_model, threshold=0.0)
    results = pipeline.run_all(cfg)
    assert results["sft"]["saved"] == [2, 4, 6] and checkpoints(cfg)
    assert (cfg.paths.merged / "config.json").is_file()
    assert set(results["finetuned"]["rates"]) == set(results["base"]["rates"])
    assert pipeline.in_child(os.getpid) != os.getpid()
    with pytest.raises(ZeroDivisionError):
        pipeline.in_child(divmod, 1, 0)

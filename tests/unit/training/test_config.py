"""Training config: every YAML loads, unknown keys fail, precedence and cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrstack.training.config import TrainConfig, load_train_config, parse_overrides
from hrstack.validators.config import configs_dir

TRAIN_CONFIGS = sorted((configs_dir() / "train").glob("*.yaml"))


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.name)
def test_every_training_config_loads(path: Path):
    cfg = load_train_config(path, environ={})
    assert cfg.lora.r == 16 and cfg.lora.alpha == 32  # the field log's adapter, both backends
    assert cfg.sft.effective_batch == 8


def test_gpu_config_mirrors_the_seed_run():
    cfg = load_train_config(configs_dir() / "train" / "gpu.yaml", environ={})
    assert (cfg.sft.backend, cfg.sft.epochs, cfg.eval.every_steps) == ("unsloth", 3.0, 100)
    assert (cfg.gating.warmup_steps, cfg.gating.threshold) == (400, 0.75)
    assert cfg.eval.stabilize_from_step == 1000
    assert [cfg.eval.quota(d) for d in ("resume_guidance", "job_description")] == [60, 40]
    assert cfg.eval.source_quota("resume_guidance") == {"synthetic": 40, "original": 20}
    assert cfg.model.merge_base == "unsloth/Qwen2.5-7B-Instruct"


def test_cpu_config_uses_the_fastest_embedded_model_on_the_hf_backend():
    cfg = load_train_config(configs_dir() / "train" / "cpu.yaml", environ={})
    assert (cfg.model.base, cfg.sft.backend) == ("embedded:smollm2-135m", "hf")


def test_the_qwen_cpu_config_rehearses_the_gpu_run():
    """Everything but size, cadence and backend matches gpu.yaml: the LoRA shape and targets,
    the gate's threshold and window, the model family (an embedded Qwen2.5)."""
    gpu = load_train_config(configs_dir() / "train" / "gpu.yaml", environ={})
    cpu = load_train_config(configs_dir() / "train" / "cpu-qwen.yaml", environ={})
    assert cpu.lora == gpu.lora
    assert (cpu.gating.threshold, cpu.eval.window) == (gpu.gating.threshold, gpu.eval.window)
    assert cpu.model.base == "embedded:qwen2.5-0.5b" and "Qwen2.5" in gpu.model.base
    assert (cpu.sft.backend, cpu.grpo.backend) == ("hf", "hf")
    assert cpu.sft.learning_rate == gpu.sft.learning_rate
    assert cpu.grpo.learning_rate == gpu.grpo.learning_rate


def test_unknown_keys_are_errors_with_their_path(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nsft: {max_step: 3}\n")
    with pytest.raises(ValueError, match=r"sft\.max_step: Extra inputs are not permitted"):
        load_train_config(path, environ={})


def test_precedence_yaml_then_environment_then_overrides(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nsft: {max_steps: 3, learning_rate: 0.1}\n")
    env = {"HRSTACK_TRAIN__SFT__MAX_STEPS": "4", "HRSTACK_TRAIN__EVAL__SCALE": "0.5"}
    cfg = load_train_config(path, ["sft.max_steps=5"], environ=env)
    assert (cfg.sft.max_steps, cfg.eval.scale, cfg.sft.learning_rate) == (5, 0.5, 0.1)


def test_overrides_parse_yaml_values():
    assert parse_overrides(["a.b=3", "a.c=[1, 2]", "d=true"]) == {
        "a": {"b": 3, "c": [1, 2]}, "d": True
    }  # fmt: skip
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(["sft.max_steps"])


def test_cross_field_rules_say_what_to_set():
    with pytest.raises(ValueError, match="bitsandbytes 4-bit"):
        TrainConfig(name="x", sft={"backend": "hf"})  # default base is the 4-bit Qwen
    with pytest.raises(ValueError, match=r"below 0\.5"):
        TrainConfig(name="x", data={"val_fraction": 0.3, "test_fraction": 0.3})
    with pytest.raises(ValueError, match="unknown domains"):
        TrainConfig(name="x", eval={"quotas": {"resume": 5}})


def test_quota_scaling_keeps_every_listed_domain():
    cfg = TrainConfig(name="x", eval={"scale": 0.01})
    assert cfg.eval.quota("recruiting_strategy") == 1
    assert cfg.eval.source_quota("job_description") == {"synthetic": 0, "original": 0}


def test_an_embedded_base_names_any_model_of_the_table(tmp_path: Path, monkeypatch):
    """'embedded' is the default embedded model, 'embedded:NAME' another; both prepared (no
    download), other bases untouched."""
    from hrstack.server import embedded_model
    from hrstack.training.config import ModelConfig
    from hrstack.training.sft import resolve_base

    asked: list[tuple[Path, str]] = []

    def prepare(cache_dir: Path, name: str = embedded_model.DEFAULT) -> Path:
        asked.append((cache_dir, name))
        return cache_dir / name

    monkeypatch.setattr(embedded_model, "prepare", prepare)
    bases = ["embedded", "embedded:qwen2.5-0.5b", "runs/cpu/merged"]
    got = [resolve_base(ModelConfig(base=b, cache_dir=tmp_path)) for b in bases]
    assert got == [str(tmp_path / "smollm2-135m"), str(tmp_path / "qwen2.5-0.5b"), bases[2]]
    assert asked == [(tmp_path, "smollm2-135m"), (tmp_path, "qwen2.5-0.5b")]

"""A real (tiny) GRPO run: TRL + peft on CPU, rewards from the production validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrstack.training.config import TrainConfig
from hrstack.training.grpo import build_dataset, load_pairs, run_grpo
from hrstack.training.rank_pairs import prompt_fields
from hrstack.training.reward import COMPONENTS


def _config(tmp_path: Path, model: Path, **grpo: object) -> TrainConfig:
    settings = {
        "backend": "hf", "init": "base", "pairs": 8, "eval_fraction": 0.25, "max_steps": 2,
        "prompts_per_step": 1, "num_generations": 2, "max_completion_length": 12,
        "learning_rate": 1e-3, "bf16": False, "gradient_checkpointing": False, "save_steps": 2,
        **grpo,
    }  # fmt: skip
    return TrainConfig.model_validate({
        "name": "t", "run_dir": str(tmp_path), "seed": 7,
        "model": {"base": str(model)}, "sft": {"backend": "hf"}, "grpo": settings,
        "merge": {"dtype": "float32"},
    })  # fmt: skip


def test_split_is_disjoint_and_deterministic(tmp_path, tiny_model):
    cfg = _config(tmp_path, tiny_model)
    train, heldout = load_pairs(cfg)
    _, heldout_again = load_pairs(cfg)
    assert [p.pair_id for p in heldout] == [p.pair_id for p in heldout_again]
    assert not {p.job_id for p in train} & {p.job_id for p in heldout}
    assert len(train) + len(heldout) == cfg.grpo.pairs and heldout


def test_prompts_are_the_production_prompts(tmp_path, tiny_model, domains):
    from transformers import AutoTokenizer

    from hrstack.tasks.prompts import build_messages
    from hrstack.training.chat import render_prompt

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    train, _ = load_pairs(_config(tmp_path, tiny_model))
    row = build_dataset(tokenizer, domains["rank"], train[:1])[0]
    fields = prompt_fields(train[0])
    assert row["prompt"] == render_prompt(tokenizer, build_messages(domains["rank"], fields))
    assert "<evidence>" in row["prompt"] and row["candidate"] == fields["candidate"]
    assert (row["gold_decision"], row["gold_score"]) == (train[0].decision, train[0].score)


@pytest.mark.slow
def test_tiny_grpo_run_logs_every_component_and_saves(tmp_path, tiny_model, domains, rules):
    cfg = _config(tmp_path, tiny_model)
    summary = run_grpo(cfg, domains, rules)
    out = tmp_path / "grpo"
    assert summary["steps"] == 2 and summary["beta"] == cfg.grpo.beta > 0
    assert (out / "checkpoints" / "checkpoint-2" / "adapter_config.json").is_file()
    assert (out / "merged" / "config.json").is_file()
    records = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    for record in records:
        assert set(record["components"]) == set(COMPONENTS)
        assert all(0.0 <= v <= 1.0 for v in record["components"].values())
        assert record["kl"] is not None


def test_warm_start_from_an_adapter_dir_merges_it_first(tmp_path, tiny_model):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from hrstack.training.grpo import load_hf_policy, resolve_init

    adapter_dir = tmp_path / "checkpoint-4"
    peft = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model),
        LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False),
    )
    peft.save_pretrained(adapter_dir)
    expected = peft.merge_and_unload().model.layers[0].self_attn.q_proj.weight
    cfg = _config(tmp_path, tiny_model, init=str(adapter_dir))
    model, _, lora = load_hf_policy(cfg, resolve_init(cfg))
    assert not hasattr(model, "peft_config")  # a plain model: GRPO's fresh LoRA goes on top
    assert torch.allclose(model.model.layers[0].self_attn.q_proj.weight, expected)
    assert lora.r == cfg.lora.r


def test_missing_warm_start_says_what_to_run(tmp_path, tiny_model):
    from hrstack.training.grpo import resolve_init

    with pytest.raises(FileNotFoundError, match="hrstack train sft"):
        resolve_init(_config(tmp_path, tiny_model, init="merged"))


def test_grpo_settings_refuse_unknown_keys_and_unsafe_sampling(tmp_path):
    from hrstack.training.config import load_train_config

    base = tmp_path / "c.yaml"
    base.write_text("name: x\n")
    cfg = load_train_config(base)
    assert cfg.grpo.beta > 0  # never TRL's default 0
    with pytest.raises(ValueError, match=r"grpo\.num_gens"):
        load_train_config(base, ["grpo.num_gens=2"])
    with pytest.raises(ValueError, match="top_p"):
        load_train_config(base, ["grpo.top_p=0.9"])
    assert load_train_config(base, ["grpo.top_p=0.9", "grpo.constrained=false"]).grpo.top_p == 0.9

"""GRPO stage: sharpen rank answers after SFT with the six rule-based rewards of training.reward.

``hrstack train grpo --config configs/train/cpu.yaml [--init merged|base|DIR]``

* warm start (``grpo.init``): the SFT output (``<run>/merged``), the base model, or any directory
  with a merged model or a LoRA adapter; an adapter is merged in memory first, so a fresh LoRA
  trains on top and the KL reference (the adapter switched off) is the warm start itself;
* data: training.rank_pairs (``grpo.pairs``, split by source; the held-out share is
  rank-eval's); prompts: ``tasks.prompts.build_messages`` on ``rank_pairs.prompt_fields``
  (screened, redacted, with evidence, as the gateway builds them), rendered by
  ``training.chat.render_prompt``; rewards compare reasons with exactly those fields;
* sampling under the rank JSON schema (xgrammar, as vLLM serves rank) unless
  ``grpo.constrained=false``; ``beta`` always comes from the config (TRL's default 0 drops the KL);
* TRL logs ``rewards/<component>/mean`` for the six reward functions; :class:`RewardLog` copies
  every logging step to ``<run>/grpo/rewards.jsonl``; the adapter is merged into
  ``<run>/grpo/merged`` (servable, and what ``hrstack train rank-eval`` reads).

Backends: ``hf`` (TRL + peft, CPU or GPU) and ``unsloth`` (GPU, 4-bit, behind the same import
guard as training.sft_unsloth; not exercised on CPU machines).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrstack.tasks.domains import DomainConfig, DomainTable
from hrstack.training import distributed
from hrstack.training.config import TrainConfig, bf16_on
from hrstack.training.rank_pairs import RankPair, generate_pairs, prompt_fields, split_pairs
from hrstack.validators import ValidatorRules

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import TrainerCallback

log = logging.getLogger(__name__)


def load_pairs(cfg: TrainConfig) -> tuple[list[RankPair], list[RankPair]]:
    """(train, held-out) rank pairs; the split is a function of ``cfg.seed`` only, so GRPO and
    rank-eval agree on what is held out, and no job or candidate sits on both sides."""
    pairs = generate_pairs(cfg.grpo.pairs, cfg.seed)
    return split_pairs(pairs, cfg.grpo.eval_fraction, cfg.seed)


def build_dataset(tokenizer: Any, domain: DomainConfig, pairs: list[RankPair]) -> Dataset:
    """One row per pair: the rendered production prompt plus the columns the rewards read
    (the validator compares reasons with the screened, redacted texts the model was shown)."""
    from datasets import Dataset

    from hrstack.tasks.prompts import build_messages
    from hrstack.training.chat import render_prompt

    rows = []
    for pair in pairs:
        fields = prompt_fields(pair)
        rows.append({
            "prompt": render_prompt(tokenizer, build_messages(domain, fields)),
            "job_description": fields["job_description"] or "",
            "candidate": fields["candidate"] or "",
            "evidence": fields["evidence"] or "",
            "gold_decision": pair.decision,
            "gold_score": float(pair.score),
            "pair_id": pair.pair_id,
        })  # fmt: skip
    return Dataset.from_list(rows)


def resolve_init(cfg: TrainConfig, init: str | None = None) -> Path:
    """The warm-start directory named by ``init`` (default ``grpo.init``)."""
    from hrstack.training.sft import resolve_base

    name = init or cfg.grpo.init
    if name == "base":
        return Path(resolve_base(cfg.model))
    path = cfg.paths.merged if name == "merged" else Path(name)
    if not path.is_dir():
        raise FileNotFoundError(
            f"GRPO warm start {path} does not exist; run `hrstack train sft` and `merge` first, "
            "or set grpo.init=base (the untuned model) or a model/adapter directory"
        )
    return path


def load_hf_policy(cfg: TrainConfig, start: Path) -> tuple[Any, Any, Any]:
    """(model, tokenizer, LoRA config): the warm start in fp32, an adapter dir merged first."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    from hrstack.training.pipeline import base_model_dir
    from hrstack.training.sft import lora_config

    set_seed(cfg.seed)  # TRL builds the LoRA (random A matrices) before the Trainer seeds

    if (start / "adapter_config.json").is_file():  # an SFT checkpoint: the base it trained on
        base = AutoModelForCausalLM.from_pretrained(base_model_dir(cfg), dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(start)).merge_and_unload()
        tokenizer = AutoTokenizer.from_pretrained(base_model_dir(cfg))
    else:
        model = AutoModelForCausalLM.from_pretrained(start, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(start)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, lora_config(cfg)


def load_unsloth_policy(cfg: TrainConfig, start: Path) -> tuple[Any, Any]:
    """4-bit warm start + LoRA via Unsloth (GPU only; imports guarded like sft_unsloth)."""
    from hrstack.training.sft_unsloth import import_unsloth, unsloth_lora

    unsloth = import_unsloth()
    if (start / "adapter_config.json").is_file():
        raise ValueError(f"grpo.backend=unsloth needs a merged warm start, not the adapter {start}")
    model, tokenizer = unsloth.FastLanguageModel.from_pretrained(
        model_name=str(start), max_seq_length=cfg.model.max_length, load_in_4bit=True, dtype=None
    )
    model = unsloth_lora(unsloth, model, cfg, cfg.grpo.gradient_checkpointing)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def merge_unsloth_onto(cfg: TrainConfig, start: Path, adapter: Path, out_dir: Path) -> None:
    """Merge onto the 16-bit warm start, not the 4-bit copy GRPO trained on (the reason
    training.sft_unsloth.merge_unsloth gives)."""
    from peft import PeftModel

    from hrstack.training.sft_unsloth import import_unsloth

    unsloth = import_unsloth()
    model, tokenizer = unsloth.FastLanguageModel.from_pretrained(
        model_name=str(start), max_seq_length=cfg.model.max_length, load_in_4bit=False, dtype=None
    )
    model = PeftModel.from_pretrained(model, str(adapter))
    model.save_pretrained_merged(str(out_dir), tokenizer, save_method="merged_16bit")


def grpo_args(cfg: TrainConfig, output_dir: Path) -> Any:
    import torch
    from trl import GRPOConfig

    g = cfg.grpo
    return GRPOConfig(
        output_dir=str(output_dir),
        use_cpu=not torch.cuda.is_available(),
        # Completions per optimizer step over all processes (training.distributed): N
        # processes sample a share each, so the step's groups are the config's on any N.
        per_device_train_batch_size=distributed.per_process(
            g.prompts_per_step * g.num_generations,
            "grpo.prompts_per_step x grpo.num_generations",
        ),
        gradient_accumulation_steps=1,
        num_generations=g.num_generations,
        max_completion_length=g.max_completion_length,
        temperature=g.temperature,
        top_p=g.top_p,
        repetition_penalty=1.0,  # production's rank sampling (configs/domains.yaml)
        beta=g.beta,
        learning_rate=g.learning_rate,
        lr_scheduler_type="constant",
        scale_rewards=g.scale_rewards,
        reward_weights=list(g.reward.weights().values()),
        max_steps=g.max_steps,
        bf16=bf16_on(g.bf16),
        gradient_checkpointing=g.gradient_checkpointing,
        logging_steps=g.logging_steps,
        save_strategy="steps",
        save_steps=g.save_steps,
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,  # the rewards read job_description, candidate, gold_*
        ddp_timeout=distributed.DDP_TIMEOUT_S,
        ddp_find_unused_parameters=False,
    )


def reward_log_callback(path: Path) -> TrainerCallback:
    """Appends each logging step's reward, KL and per-component means to ``path`` (JSONL);
    written by the main process only (TRL's logged means are already over all processes), and
    on resume the steps after the resumed one are dropped so no step is logged twice."""
    from transformers import TrainerCallback

    from hrstack.training.reward import COMPONENTS

    class RewardLog(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not distributed.is_main():
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            kept = []
            if path.is_file():
                records = [json.loads(line) for line in path.read_text().splitlines() if line]
                kept = [r for r in records if r["step"] <= state.global_step]
            path.write_text("".join(json.dumps(r) + "\n" for r in kept))

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if not logs or "reward" not in logs or not distributed.is_main():
                return
            record = {
                "step": state.global_step,
                "reward": logs["reward"],
                "reward_std": logs.get("reward_std"),
                "kl": logs.get("kl"),
                "loss": logs.get("loss"),
                "components": {n: logs.get(f"rewards/{n}/mean") for n in COMPONENTS},
            }
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")

    return RewardLog()


def trainer_class(grammar: Any) -> type:
    """GRPOTrainer whose sampling runs under the rank JSON schema when ``grammar`` is given.

    TRL's transformers path calls ``model.generate(**inputs, generation_config=...)`` with no
    way to pass a logits processor, so the generate call of the unwrapped policy is wrapped for
    the duration of one rollout. The grammar mask runs after TRL's warpers; with top_p=1 (the
    config enforces it) no warper can remove every allowed token first.
    """
    from trl import GRPOTrainer

    class RankGRPOTrainer(GRPOTrainer):
        def _generate_single_turn(self, *args: Any, **kwargs: Any) -> Any:
            if grammar is None:
                return super()._generate_single_turn(*args, **kwargs)
            policy = self.accelerator.unwrap_model(self.model)
            original = policy.generate

            def constrained(*a: Any, **kw: Any) -> Any:
                return original(*a, logits_processor=[grammar(policy)], **kw)

            policy.generate = constrained
            try:
                return super()._generate_single_turn(*args, **kwargs)
            finally:
                del policy.generate  # back to the class method

    return RankGRPOTrainer


def _grammar(cfg: TrainConfig, tokenizer: Any, domains: DomainTable, rules: ValidatorRules) -> Any:
    """A factory of fresh rank-schema processors (single-use), or None when unconstrained;
    training.generation's Judge compiles the very grammar evaluation decodes with."""
    if not cfg.grpo.constrained:
        return None
    from hrstack.training.generation import Judge, Prompt

    judge = Judge(tokenizer, domains, rules, batch_size=1, seed=cfg.seed)
    rank = [Prompt("grpo", "rank", "grpo", {})]  # the rank schema depends on no field
    return lambda policy: judge.grammar_processor(policy, rank)  # one builder for eval and RL


def merge_policy(model: Any, tokenizer: Any, out_dir: Path, dtype: str) -> None:
    """Fold the GRPO adapter into the warm start and save it as SFT's merge does."""
    from hrstack.training.merge import save_merged

    save_merged(model.merge_and_unload(), tokenizer, out_dir, dtype)


def run_grpo(
    cfg: TrainConfig, domains: DomainTable, rules: ValidatorRules, init: str | None = None
) -> dict[str, Any]:
    """Train, log per-component rewards, merge; returns (and writes) a summary."""
    from hrstack.training.reward import RankRewardModel, trl_reward_funcs

    out = cfg.paths.grpo
    start = resolve_init(cfg, init)
    train, heldout = load_pairs(cfg)
    log.info("GRPO from %s on %d pairs (%d held out)", start, len(train), len(heldout))
    peft_config = None
    if cfg.grpo.backend == "unsloth":
        model, tokenizer = load_unsloth_policy(cfg, start)
    else:
        model, tokenizer, peft_config = load_hf_policy(cfg, start)
    rewards = RankRewardModel(rules, length_target_chars=cfg.grpo.reward.length_target_chars)
    trainer = trainer_class(_grammar(cfg, tokenizer, domains, rules))(
        model=model,
        reward_funcs=trl_reward_funcs(rewards),
        args=grpo_args(cfg, out / "checkpoints"),
        train_dataset=build_dataset(tokenizer, domains["rank"], train),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[reward_log_callback(out / "rewards.jsonl")],
    )
    resume = _resume_point(cfg, out / "checkpoints")
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    trainer.save_model(str(out / "adapter"))  # the Trainer writes it from the main process
    if distributed.is_main():
        if cfg.grpo.backend == "unsloth":
            merge_unsloth_onto(cfg, start, out / "adapter", out / "merged")
        else:
            merge_policy(trainer.model, tokenizer, out / "merged", cfg.merge.dtype)
    summary = {
        "backend": cfg.grpo.backend,
        "init": str(start),
        "pairs": {"train": len(train), "heldout": len(heldout)},
        "steps": trainer.state.global_step,
        "beta": cfg.grpo.beta,
        "weights": cfg.grpo.reward.weights(),
        "merged": str(out / "merged"),
        "rewards_log": str(out / "rewards.jsonl"),
        "resumed_from": str(resume) if resume else None,
        "processes": distributed.world_size(),
    }
    if distributed.is_main():
        (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=2))
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    distributed.barrier()
    return summary


def _resume_point(cfg: TrainConfig, checkpoints: Path) -> Path | None:
    """The newest checkpoint of this same GRPO config, or None (fresh start). A different
    config in the same run dir is refused rather than mixed into one run."""
    from hrstack.training.sft import latest_checkpoint

    current = cfg.model_dump(mode="json", include={"seed", "lora", "grpo"})
    saved = checkpoints / "run_config.json"
    if distributed.is_main():
        if saved.is_file() and json.loads(saved.read_text()) != current and cfg.grpo.resume:
            raise ValueError(
                f"{checkpoints} holds checkpoints of a different GRPO config; resuming would mix "
                "two runs. Use a new run dir (--run-dir), delete that one, or grpo.resume=false."
            )
        checkpoints.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(current, indent=2))
    found = latest_checkpoint(checkpoints) if cfg.grpo.resume and checkpoints.is_dir() else None
    if found is not None:
        log.info("GRPO resuming from %s", found)
    return found

"""SFT stage: LoRA fine-tuning with generation-based, validator-gated checkpoints.

``hrstack train sft --config configs/train/cpu.yaml``

Two backends behind one config: ``hf`` (transformers + peft + TRL ``SFTTrainer``; CPU or GPU)
and ``unsloth`` (GPU, 4-bit; training.sft_unsloth). Both train on the same pre-tokenized rows
(training.chat: production prompt masked, loss on the answer only) with the same callback
(training.callback: evaluate every ``eval.every_steps``, gate the save). After a crash, running
the stage again resumes from the newest checkpoint the gate let through.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrstack.tasks.domains import DomainTable
from hrstack.training import distributed
from hrstack.training.config import ModelConfig, TrainConfig, bf16_on
from hrstack.training.formats import Example, read_examples
from hrstack.validators import ValidatorRules

if TYPE_CHECKING:
    from datasets import Dataset
    from trl import SFTConfig

log = logging.getLogger(__name__)
DONE_FILE = "sft_done.json"
CONFIG_FILE = "run_config.json"


def resolve_base(model: ModelConfig) -> str:
    """'embedded' (the fastest, SmolLM2-135M) or 'embedded:NAME' (a model of
    configs/embedded_models.yaml, e.g. qwen2.5-0.5b) -> its prepared directory, no download;
    anything else unchanged."""
    kind, _, name = model.base.partition(":")
    if kind != "embedded":
        return model.base
    from hrstack.server import embedded_model

    cache_dir = model.cache_dir
    if cache_dir is None:
        from hrstack.server.settings import Settings

        cache_dir = Settings().cache_dir
    return str(embedded_model.prepare(cache_dir, name or embedded_model.FASTEST))


def tokenize_rows(
    tokenizer: Any, rows: list[Example], domains: DomainTable, max_length: int
) -> Dataset:
    from datasets import Dataset

    from hrstack.training.chat import encode_example

    encoded = [encode_example(tokenizer, r, domains[r.domain], max_length) for r in rows]
    return Dataset.from_list(encoded)


def training_args(cfg: TrainConfig, output_dir: Path) -> SFTConfig:
    """Trainer settings; save/eval cadence is the gate's, and nothing may pick 'best' behind
    its back (see training.callback for why each of these is pinned)."""
    import torch
    from trl import SFTConfig

    sft = cfg.sft
    # The config's batch is the global one: N processes take batch_size / N rows each, so the
    # rows per optimizer step, and with them the learning rate's meaning, stay the config's.
    per_device = distributed.per_process(sft.batch_size, "sft.batch_size")
    return SFTConfig(
        output_dir=str(output_dir),
        use_cpu=not torch.cuda.is_available(),
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=per_device,
        gradient_accumulation_steps=sft.grad_accum,
        learning_rate=sft.learning_rate,
        lr_scheduler_type=sft.lr_scheduler,
        warmup_steps=sft.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=sft.weight_decay,
        num_train_epochs=sft.epochs,
        max_steps=sft.max_steps,
        bf16=bf16_on(sft.bf16),
        gradient_checkpointing=sft.gradient_checkpointing,
        logging_steps=sft.logging_steps,
        logging_first_step=True,
        eval_strategy="steps",
        eval_steps=cfg.eval.every_steps,
        save_strategy="steps",  # never "best": it overrides the gate's veto
        save_steps=cfg.eval.every_steps,
        save_total_limit=None,  # rotation could delete the only checkpoints the gate allowed
        load_best_model_at_end=False,
        metric_for_best_model=None,
        max_length=cfg.model.max_length,
        train_sampling_strategy="group_by_length" if sft.group_by_length else "random",
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=0,
        # Data parallel (training.distributed): the other ranks wait out the main process's
        # domain check in a broadcast; every LoRA weight gets a gradient on every step.
        ddp_timeout=distributed.DDP_TIMEOUT_S,
        ddp_find_unused_parameters=False,
    )


def latest_checkpoint(directory: Path) -> Path | None:
    found = [
        (int(match.group(1)), path)
        for path in directory.glob("checkpoint-*")
        if (match := re.fullmatch(r"checkpoint-(\d+)", path.name)) and path.is_dir()
    ]
    return max(found)[1] if found else None


def _check_run_dir(cfg: TrainConfig, directory: Path) -> dict[str, Any] | None:
    """The finished summary if this exact config already trained here; refuse mixed runs.
    (The main process checks and writes; a mismatch stops it, and the launcher the others.)"""
    current = cfg.model_dump(mode="json", include={"seed", "model", "lora", "sft", "eval"})
    saved = directory / CONFIG_FILE
    if distributed.is_main():
        if saved.is_file() and json.loads(saved.read_text()) != current:
            raise ValueError(
                f"{directory} holds checkpoints of a different training config; resuming would "
                "mix two runs. Use a new run dir (--run-dir) or delete that one."
            )
        directory.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(current, indent=2))
    done = directory / DONE_FILE
    return json.loads(done.read_text()) if done.is_file() and cfg.sft.resume else None


def load_hf(cfg: TrainConfig) -> tuple[Any, Any]:
    """fp32 base + fresh LoRA adapter, for CPU (or a GPU without Unsloth)."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    # LoRA's A matrices are drawn from the global RNG before the Trainer seeds it: without
    # this, the same config gives a different adapter in each process (and a resumed run's
    # checkpoints would not match an uninterrupted run's).
    set_seed(cfg.seed)
    base = resolve_base(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # labels mask the padding, so this is safe
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    return get_peft_model(model, lora_config(cfg)), tokenizer


def lora_config(cfg: TrainConfig) -> Any:
    """The peft LoRA of ``cfg.lora``, for SFT and GRPO alike."""
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def run_sft(cfg: TrainConfig, domains: DomainTable, rules: ValidatorRules) -> dict[str, Any]:
    """Train with gated saves; returns (and writes) a summary of the run."""
    from trl import SFTTrainer

    from hrstack.training.callback import DomainEvalCallback, StepTimes
    from hrstack.training.gating import Gate, GateLog
    from hrstack.training.generation import Judge
    from hrstack.training.sampling import EvalSampler
    from hrstack.training.trainer import AnswerOnlySFTTrainer

    paths = cfg.paths
    finished = _check_run_dir(cfg, paths.checkpoints)
    if finished is not None:
        log.info(
            "SFT already finished in %s; skipping (delete %s to retrain)", paths.root, DONE_FILE
        )
        return finished
    if cfg.sft.backend == "unsloth":
        from hrstack.training.sft_unsloth import load_unsloth

        model, tokenizer = load_unsloth(cfg)
    else:
        model, tokenizer = load_hf(cfg)
    train_rows = read_examples(paths.split("train"))
    val_rows = read_examples(paths.split("val"))
    loss_rows = val_rows[: cfg.sft.eval_loss_rows] if cfg.sft.eval_loss_rows else val_rows
    judge = Judge(
        tokenizer, domains, rules,
        batch_size=cfg.eval.batch_size, seed=cfg.seed, constrained=cfg.eval.constrained,
    )  # fmt: skip
    callback = DomainEvalCallback(
        judge,
        EvalSampler(val_rows, cfg.eval, cfg.seed),
        Gate(cfg.gating, cfg.eval.window),
        GateLog(paths.gating_log),
        backend=cfg.sft.backend,
        samples_dir=paths.root / "checks",
    )
    # Unsloth patches TRL's own loss; the hf backend uses the answer-only loss (training.trainer).
    trainer_class = SFTTrainer if cfg.sft.backend == "unsloth" else AnswerOnlySFTTrainer
    trainer = trainer_class(
        model=model,
        args=training_args(cfg, paths.checkpoints),
        train_dataset=tokenize_rows(tokenizer, train_rows, domains, cfg.model.max_length),
        eval_dataset=tokenize_rows(tokenizer, loss_rows, domains, cfg.model.max_length),
        processing_class=tokenizer,
        callbacks=[callback, StepTimes(paths.root / "step_times.jsonl")],
    )
    resume = latest_checkpoint(paths.checkpoints) if cfg.sft.resume else None
    if resume is not None:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    decisions = GateLog(paths.gating_log).read()
    summary = {
        "backend": cfg.sft.backend,
        "steps": trainer.state.global_step,
        "train_rows": len(train_rows),
        "checks": len(decisions),
        "saved": [d["step"] for d in decisions if d["allowed"]],
        "blocked": [d["step"] for d in decisions if not d["allowed"]],
        "resumed_from": str(resume) if resume else None,
        "processes": distributed.world_size(),
    }
    if distributed.is_main():  # one run, one set of files, however many processes trained it
        history = json.dumps(trainer.state.log_history, indent=2)
        (paths.root / "log_history.json").write_text(history)
        (paths.checkpoints / DONE_FILE).write_text(json.dumps(summary, indent=2))
    distributed.barrier()
    return summary

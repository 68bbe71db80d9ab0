"""Typed schema for ``configs/train/*.yaml``: one model for both backends.

Precedence, lowest first: field defaults < the YAML file < ``HRSTACK_TRAIN__<SECTION>__<FIELD>``
environment variables < ``--set section.field=value`` on the command line. Unknown keys are
errors everywhere (``extra="forbid"``), so a typo cannot fall back to a default. Defaults mirror
the field log's GPU run (../shared/seeds/hr-training-validation-checkpoints.md); the CPU YAML
shrinks sizes, not rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hrstack.tasks.domains import DomainTable, load_domains
from hrstack.validators import DOMAINS, ValidatorRules, load_rules
from hrstack.validators.config import configs_dir

ENV_PREFIX = "HRSTACK_TRAIN__"
Source = Literal["synthetic", "original"]
#: Domains with a target in the field log; rank has none there (it is gated by the threshold).
SEED_TARGETS = {
    "resume_guidance": 0.85,
    "job_description": 0.80,
    "job_resume_match": 0.80,
    "recruiting_strategy": 0.75,
    "ats_keywords": 0.90,
}
SEED_QUOTAS = {
    "resume_guidance": 60,
    "job_description": 40,
    "job_resume_match": 40,
    "recruiting_strategy": 30,
    "ats_keywords": 30,
    "rank": 30,
}
SEED_STABILIZED: dict[str, dict[Source, int]] = {
    "resume_guidance": {"synthetic": 40, "original": 20},
    "job_description": {"synthetic": 30, "original": 10},
}
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_domains(names: object, what: str) -> None:
    unknown = sorted(set(names) - set(DOMAINS))  # type: ignore[call-overload]
    if unknown:
        raise ValueError(f"{what}: unknown domains {unknown}; known: {', '.join(DOMAINS)}")


class DataSource(_Section):
    path: Path = Field(description="A JSONL file of examples (relative paths: repo root).")
    format: Literal["chatml", "alpaca", "prompt_completion", "sharegpt"] = Field(
        description="Row shape; every format is converted to ChatML rows with domain+source."
    )
    domain: str | None = Field(
        None, description="Domain for rows that carry no 'domain' key; rows without both fail."
    )


class DataConfig(_Section):
    sources: list[DataSource] = Field(
        default_factory=list, description="Original (non-synthetic) datasets to convert and mix."
    )
    val_fraction: float = Field(
        0.05, gt=0, lt=0.5, description="Share of rows per domain for the gating evaluations."
    )
    test_fraction: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description="Share per domain held out for base vs fine-tuned; never seen by gating.",
    )
    strict: bool = Field(
        False, description="Fail on the first malformed row instead of logging and skipping it."
    )


class SynthConfig(_Section):
    rows: int = Field(
        34000, ge=0, description="Synthetic rows (tens of thousands on GPU, hundreds on CPU)."
    )
    domain_weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(DOMAINS, 1.0),
        description="Relative share of rows per domain (the field log oversampled resume/JD).",
    )
    hard_rank_share: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Share of rank rows drawn from the hard set's generator (training/"
        "hard_pairs.py: every must-have named, gold by specialty, years and recency).",
    )

    @model_validator(mode="after")
    def _known(self) -> Self:
        _check_domains(self.domain_weights, "synth.domain_weights")
        if any(weight < 0 for weight in self.domain_weights.values()) or not any(
            self.domain_weights.values()
        ):
            raise ValueError("synth.domain_weights must be >= 0 with at least one above 0")
        return self


class ModelConfig(_Section):
    base: str = Field(
        "unsloth/Qwen2.5-7B-Instruct-bnb-4bit",
        description="Model to fine-tune: 'embedded' (SmolLM2-135M, CPU), 'embedded:NAME' (a "
        "model of configs/embedded_models.yaml, e.g. qwen2.5-0.5b), a local dir or a hub id.",
    )
    merge_base: str | None = Field(
        None,
        description="16-bit model the adapter is merged onto (GPU: the unquantized base); "
        "null: the base itself.",
    )
    cache_dir: Path | None = Field(
        None, description="Where 'embedded' is prepared; null: the server's default cache."
    )
    max_length: int = Field(
        2048, ge=64, description="Tokens per training example; longer rows are cut at the end."
    )


class LoraSettings(_Section):
    r: int = Field(16, ge=1, description="LoRA rank (field log: 16).")
    alpha: int = Field(32, ge=1, description="LoRA alpha (field log: 32); scale = alpha / r.")
    dropout: float = Field(0.0, ge=0, lt=1, description="LoRA dropout (0 is Unsloth's fast path).")
    target_modules: list[str] = Field(
        default_factory=lambda: list(LORA_TARGETS),
        description="Projections that get adapters: all attention and MLP ones.",
    )


class SftSettings(_Section):
    backend: Literal["hf", "unsloth"] = Field(
        "unsloth", description="unsloth: GPU, 4-bit; hf: transformers+peft+TRL (runs on CPU)."
    )
    epochs: float = Field(3.0, gt=0, description="Passes over the training split (field log: 3).")
    max_steps: int = Field(-1, description="Stop after this many optimizer steps; -1: use epochs.")
    batch_size: int = Field(2, ge=1, description="Examples per forward pass.")
    grad_accum: int = Field(4, ge=1, description="Passes per optimizer step (batch x accum = 8).")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate of the adapter.")
    lr_scheduler: Literal["linear", "cosine", "constant_with_warmup"] = Field(
        "linear", description="Learning-rate schedule after warmup."
    )
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay on adapter weights.")
    bf16: bool | Literal["auto"] = Field(
        "auto", description="bf16 autocast: auto uses it where the hardware has it (see bf16_on)."
    )
    gradient_checkpointing: bool = Field(
        True, description="Trade compute for memory; off on CPU, where memory is plentiful."
    )
    logging_steps: int = Field(10, ge=1, description="Train-loss logging interval.")
    eval_loss_rows: int | None = Field(
        None, ge=1, description="Validation rows for eval loss per check; null: all of them."
    )
    group_by_length: bool = Field(
        True, description="Batch similar lengths together: less padding, faster steps."
    )
    resume: bool = Field(
        True, description="Continue from the newest checkpoint in the run dir after a crash."
    )

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum


class EvalConfig(_Section):
    every_steps: int = Field(
        100, ge=1, description="Domain check (and the save it gates) every N optimizer steps."
    )
    quotas: dict[str, int] = Field(
        default_factory=lambda: dict(SEED_QUOTAS),
        description="Prompts per domain per check (field log: 60/40/40/30/30, plus rank).",
    )
    scale: float = Field(1.0, gt=0, le=1, description="Multiplies every quota (CPU: small).")
    stabilize_from_step: int = Field(
        1000,
        ge=0,
        description="From this step, one fixed sample with a set source mix replaces per-check "
        "stratified draws, so checks are comparable (field log: 1000).",
    )
    stabilized_sources: dict[str, dict[Source, int]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in SEED_STABILIZED.items()},
        description="Per-domain source mix of the fixed sample (resume 40+20, JD 30+10).",
    )
    window: int = Field(3, ge=1, description="Checks in the rolling average the gate reads.")
    batch_size: int = Field(16, ge=1, description="Prompts generated at once.")
    heldout_per_domain: int | None = Field(
        None, ge=1, description="Test rows per domain for base vs fine-tuned; null: all."
    )
    constrained: bool = Field(
        True,
        description="Decode every domain under its production constraint (grammar / JSON "
        "schema), as vLLM does; the gate and the selection read these rates.",
    )
    report_unconstrained: bool = Field(
        True,
        description="The held-out report also decodes without constraints: what the model "
        "itself learned, so a constraint never hides a model that learned nothing.",
    )
    unconstrained_base: bool = Field(
        True,
        description="`train all` decodes the base model without constraints too. Its free "
        "answers can run to each domain's max_tokens (Qwen2.5-0.5B on 2 cores: 27.6 of its "
        "30 evaluation minutes); false leaves that reference to `hrstack train evaluate "
        "--model base`, run once and cached (train all then reuses it).",
    )

    @model_validator(mode="after")
    def _known(self) -> Self:
        _check_domains(self.quotas, "eval.quotas")
        _check_domains(self.stabilized_sources, "eval.stabilized_sources")
        return self

    def quota(self, domain: str) -> int:
        """The scaled quota; a listed domain always gets at least one prompt."""
        return max(1, round(self.quotas[domain] * self.scale)) if domain in self.quotas else 0

    def source_quota(self, domain: str) -> dict[Source, int] | None:
        mix = self.stabilized_sources.get(domain)
        if mix is None:
            return None
        return {source: max(0, round(n * self.scale)) for source, n in mix.items()}


class GatingConfig(_Section):
    warmup_steps: int = Field(
        400, ge=0, description="Saves below this step are always allowed (field log: 400)."
    )
    threshold: float = Field(
        0.75, ge=0, le=1, description="Every gated domain's rolling average must reach this."
    )
    targets: dict[str, float] = Field(
        default_factory=lambda: dict(SEED_TARGETS),
        description="Per-domain targets, reported beside the threshold (not gated).",
    )
    domains: list[str] | None = Field(
        None, description="Domains the gate reads; null: every evaluated domain."
    )

    @model_validator(mode="after")
    def _known(self) -> Self:
        _check_domains(self.targets, "gating.targets")
        _check_domains(self.domains or [], "gating.domains")
        return self


class MergeConfig(_Section):
    dtype: Literal["float16", "bfloat16", "float32"] = Field(
        "float16", description="Weights of the merged model (vLLM serves this directory)."
    )
    check_prompts: int = Field(3, ge=1, description="Prompts the merged-vs-adapter check runs.")
    check_tokens: int = Field(48, ge=1, description="Greedy tokens generated per check prompt.")
    min_agreement: float = Field(
        0.98, ge=0, le=1, description="Least share of next-token argmaxes the two must share."
    )


class RewardSettings(_Section):
    """Weights of the six rank reward components (training.reward); they sum to 1, so the
    GRPO reward, a weighted sum, stays in [0, 1] and reads as a score."""

    format_valid: float = Field(0.20, ge=0, le=1, description="Schema checks passed.")
    decision_match: float = Field(
        0.30, ge=0, le=1, description="Decision equals gold: the verdict is what a client acts on."
    )
    score_alignment: float = Field(0.15, ge=0, le=1, description="1 - |score - gold score|.")
    reason_quality: float = Field(
        0.15, ge=0, le=1, description="Reasons not copied, specific, free of protected attributes."
    )
    length_penalty: float = Field(
        0.05, ge=0, le=1, description="Within the expected length (small: the schema bounds it)."
    )
    no_hallucination: float = Field(
        0.15, ge=0, le=1, description="Share of reasons whose numbers and names are in the inputs."
    )
    length_target_chars: int = Field(
        320, ge=1, description="Answers up to this long get full length credit (gold: 150-295)."
    )

    @model_validator(mode="after")
    def _convex(self) -> Self:
        total = sum(self.weights().values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"grpo.reward weights sum to {total:.4f}; they must sum to 1 so the reward stays "
                "in [0, 1] and base vs trained totals compare; rescale them"
            )
        return self

    def weights(self) -> dict[str, float]:
        """Component -> weight, in training.reward.COMPONENTS order (TRL's reward_weights)."""
        from hrstack.training.reward import COMPONENTS

        return {name: getattr(self, name) for name in COMPONENTS}


class GrpoSettings(_Section):
    """GRPO on rank after SFT: rule-based rewards from the production validator (field defaults:
    the GPU run; configs/train/cpu.yaml shrinks sizes to fit 20 minutes on 2 cores)."""

    backend: Literal["hf", "unsloth"] = Field(
        "unsloth", description="unsloth: GPU fast path (untested on CPU); hf: TRL + peft LoRA."
    )
    init: str = Field(
        "merged",
        description="Warm start: 'merged' (<run>/merged, the SFT output), 'base' (model.base), "
        "or a directory holding a merged model or a LoRA adapter.",
    )
    pairs: int = Field(
        400, ge=4, description="Rank pairs generated (training.rank_pairs); a share is held out."
    )
    eval_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of pairs held out for rank-eval, never trained on."
    )
    max_steps: int = Field(200, ge=1, description="Optimizer steps (one prompt group each).")
    prompts_per_step: int = Field(
        4, ge=1, description="Prompts per optimizer step, each sampled num_generations times."
    )
    num_generations: int = Field(
        4, ge=2, description="Group size: GRPO's advantage is relative to the group's mean."
    )
    max_completion_length: int = Field(
        160,
        ge=8,
        description="Tokens per sampled answer; gold answers are 42-71 tokens, and a cut-off "
        "answer fails the schema, which teaches the model to stay short.",
    )
    temperature: float = Field(
        1.0, gt=0, description="Sampling temperature: exploration, above production's 0.3."
    )
    top_p: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Nucleus cut; must be 1 with constrained decoding (see the cross-check).",
    )
    constrained: bool = Field(
        True, description="Sample under the rank JSON schema (xgrammar), as vLLM serves rank."
    )
    resume: bool = Field(
        True, description="Continue from the newest checkpoint in <run>/grpo after a crash."
    )
    beta: float = Field(
        0.04,
        ge=0,
        description="KL coefficient to the warm start (redrob-qwen-grpo: 0.04); TRL's default "
        "0 drops the KL and lets a small model drift from the SFT answers.",
    )
    learning_rate: float = Field(5e-6, gt=0, description="Peak learning rate of the adapter.")
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group", description="Advantage scaling (TRL): by the group's std, the batch's, or none."
    )
    bf16: bool | Literal["auto"] = Field(
        "auto", description="bf16 autocast: auto uses it where the hardware has it (see bf16_on)."
    )
    gradient_checkpointing: bool = Field(
        True, description="Trade compute for memory; off on CPU, where memory is plentiful."
    )
    logging_steps: int = Field(1, ge=1, description="Reward/KL logging interval (steps).")
    save_steps: int = Field(50, ge=1, description="Adapter checkpoint interval (steps).")
    reward: RewardSettings = Field(default_factory=RewardSettings)

    @model_validator(mode="after")
    def _sampling(self) -> Self:
        if self.constrained and self.top_p < 1:
            raise ValueError(
                f"grpo.top_p={self.top_p} with grpo.constrained=true: transformers applies the "
                "top-p cut before the grammar mask, which can leave no allowed token; set "
                "grpo.top_p=1 (the temperature still controls exploration)"
            )
        return self


class TrainConfig(_Section):
    name: str = Field(description="Run name; the default run dir is runs/<name>.")
    run_dir: Path | None = Field(None, description="Where every stage writes; null: runs/<name>.")
    seed: int = Field(1234, description="One seed for synthesis, splits, sampling and training.")
    data: DataConfig = Field(default_factory=DataConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    sft: SftSettings = Field(default_factory=SftSettings)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    gating: GatingConfig = Field(default_factory=GatingConfig)
    merge: MergeConfig = Field(default_factory=MergeConfig)
    grpo: GrpoSettings = Field(default_factory=GrpoSettings)

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        if self.data.val_fraction + self.data.test_fraction >= 0.5:
            raise ValueError(
                "data.val_fraction + data.test_fraction must stay below 0.5 so most rows train"
            )
        if self.sft.backend == "hf" and self.model.base.endswith("bnb-4bit"):
            raise ValueError(
                f"model.base {self.model.base!r} is a bitsandbytes 4-bit checkpoint, which the hf "
                "backend cannot train on CPU; use sft.backend=unsloth on a GPU or base=embedded"
            )
        if self.sft.max_steps == 0:
            raise ValueError("sft.max_steps=0 trains nothing; use -1 to train for sft.epochs")
        return self

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.run_dir or Path("runs") / self.name)


class RunPaths:
    """Where each stage reads and writes inside one run directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.checkpoints = root / "checkpoints"
        self.gating_log = root / "gating.jsonl"
        self.selected = root / "selected.json"
        self.merged = root / "merged"
        self.evals = root / "eval"
        self.report = root / "report"
        self.timings = root / "timings.json"
        self.grpo = root / "grpo"

    def split(self, name: str) -> Path:
        return self.data / f"{name}.jsonl"


def _deep_set(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ValueError(f"cannot set {dotted!r}: {part!r} is not a section")
    target[leaf] = value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["sft.max_steps=5", "eval.scale=0.1"]`` -> nested dict; values are parsed as YAML."""
    merged: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {pair!r} is not KEY=VALUE (e.g. sft.max_steps=5)")
        _deep_set(merged, key.strip(), yaml.safe_load(raw))
    return merged


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``HRSTACK_TRAIN__SFT__MAX_STEPS=5`` -> ``{"sft": {"max_steps": 5}}``."""
    pairs = [
        f"{key[len(ENV_PREFIX) :].lower().replace('__', '.')}={value}"
        for key, value in (environ if environ is not None else os.environ).items()
        if key.startswith(ENV_PREFIX)
    ]
    return parse_overrides(pairs)


def load_train_config(
    path: Path, overrides: list[str] | None = None, environ: dict[str, str] | None = None
) -> TrainConfig:
    """Defaults < YAML < environment < ``overrides``; errors name the file and the bad keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read training config: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    data = _merge(_merge(data, env_overrides(environ)), parse_overrides(overrides or []))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ValueError(f"{path}: invalid training config:\n" + "\n".join(lines)) from exc


def load_production() -> tuple[DomainTable, ValidatorRules]:
    """The domain table and validator rules production loads (``$HRSTACK_CONFIGS_DIR`` or the
    repo's ``configs/``): training prompts and judges with exactly these."""
    return load_domains(configs_dir() / "domains.yaml"), load_rules()


def bf16_on(setting: bool | Literal["auto"]) -> bool:
    """Resolve ``bf16: auto``: on where the device computes in bf16, off elsewhere.

    Why not just ``true``: on a CPU without AVX512-BF16/AMX (an AVX2-only EPYC, as CI runs on)
    PyTorch emulates bf16 and a 135M LoRA step went from ~12 s to over 6 minutes, which timed
    out the train-then-serve test. oneDNN says whether it has native bf16 kernels; CUDA says
    whether the GPU has bf16 (Ampere and newer). ``true`` is still honoured as asked."""
    if setting != "auto":
        return bool(setting)
    import torch

    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

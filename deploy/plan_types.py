"""The planner's inputs and verdict: an engine configuration in, a typed ``Plan`` out.

``EngineConfig`` mirrors the engine keys of ``configs/profiles/*.yaml`` (and the settings the
launcher turns into vLLM flags), and checks them in ``__post_init__`` so a typo fails with a
message instead of producing a confident but wrong plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

GiB = 1024**3

#: Bytes per element of vLLM's --dtype values.
DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2}
#: --kv-cache-dtype values narrower than the model dtype.
FP8_KV = {"fp8", "fp8_e4m3", "fp8_e5m2"}
FOUR_BIT = {"bitsandbytes", "awq", "awq_marlin", "gptq", "gptq_marlin"}
QUANTIZATIONS = FOUR_BIT | {"fp8"}


def resolve_dtype(dtype: str, checkpoint_dtype: str) -> str:
    """vLLM's ``--dtype auto``: the checkpoint's 16-bit dtype; fp32 checkpoints run in bf16."""
    if dtype != "auto":
        return dtype
    return "bfloat16" if checkpoint_dtype in ("float32", "float") else checkpoint_dtype


def kv_dtype_bytes(kv_cache_dtype: str, dtype: str) -> int:
    """``auto`` stores K/V in the model dtype; the fp8 variants take one byte."""
    return 1 if kv_cache_dtype in FP8_KV else DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class EngineConfig:
    """The vLLM settings a plan depends on (the profile's engine keys)."""

    max_num_seqs: int
    """Sequences vLLM batches at once (--max-num-seqs)."""
    max_model_len: int
    """Prompt + answer tokens of one sequence (--max-model-len)."""
    gpu_memory_utilization: float = 0.9
    """Share of total VRAM vLLM may take (--gpu-memory-utilization); ignored on CPU."""
    dtype: str = "auto"
    """Weights and activations dtype (--dtype)."""
    quantization: str | None = None
    """None, or bitsandbytes / awq / gptq (4-bit) / fp8 (--quantization)."""
    kv_cache_dtype: str = "auto"
    """auto (the model dtype) or fp8 (--kv-cache-dtype)."""
    cpu_kvcache_space_gib: float | None = None
    """VLLM_CPU_KVCACHE_SPACE on the CPU build; vLLM reads it as whole GiB."""
    max_num_batched_tokens: int | None = None
    """Tokens per scheduler step; None: vLLM's default for the GPU size."""

    def __post_init__(self) -> None:
        if self.quantization in ("none", ""):
            object.__setattr__(self, "quantization", None)
        problems = []
        if self.max_num_seqs < 1 or self.max_model_len < 1:
            problems.append("max_num_seqs and max_model_len must be >= 1")
        if not 0 < self.gpu_memory_utilization <= 1:
            problems.append("gpu_memory_utilization must be in (0, 1], e.g. 0.9")
        if self.dtype != "auto" and self.dtype not in DTYPE_BYTES:
            problems.append(f"dtype {self.dtype!r} unknown; use auto, {', '.join(DTYPE_BYTES)}")
        if self.quantization is not None and self.quantization not in QUANTIZATIONS:
            known = ", ".join(sorted(QUANTIZATIONS))
            problems.append(f"quantization {self.quantization!r} unknown; use none, {known}")
        if self.kv_cache_dtype != "auto" and self.kv_cache_dtype not in FP8_KV:
            problems.append(f"kv_cache_dtype {self.kv_cache_dtype!r} unknown; use auto or fp8")
        if problems:
            raise ValueError("engine config: " + "; ".join(problems))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> EngineConfig:
        """From profile/settings values; keys that are not engine fields or are None are skipped."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names and v is not None})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """The values as the environment variables that set them, for logs."""
        return " ".join(f"{k.upper()}={v}" for k, v in self.as_dict().items() if v is not None)


@dataclass(frozen=True)
class Plan:
    """The verdict. ``fits=False`` carries the ``reason`` code, a ``message`` saying what does
    not fit and why, and a ``suggestion`` saying what to change."""

    fits: bool
    reason: str | None
    """None when it fits; else headroom, weights, context, kv or concurrency."""
    message: str
    suggestion: str | None
    model: str
    device: str
    vram_gib: float | None
    engine: EngineConfig
    dtype: str
    params: int
    weight_bytes: int
    kv_bytes_per_token: int
    budget_bytes: int
    """ceil(VRAM x utilization): what vLLM may use on a GPU; 0 on CPU."""
    overhead_bytes: int
    """Estimated activations, sampler and CUDA graphs (GPU only)."""
    kv_cache_bytes: int
    block_size: int
    kv_blocks: int
    kv_tokens: int
    """What vLLM logs as "KV cache size: N tokens"."""
    max_concurrent_seqs: float
    """What vLLM logs as "Maximum concurrency for MAX_MODEL_LEN tokens per request"."""

    def summary(self) -> str:
        """Human-readable lines for the CLI and the container start log."""
        where = "CPU" if self.vram_gib is None else f"{self.vram_gib:g} GiB GPU"
        e = self.engine
        lines = [
            f"model {self.model}: {self.params / 1e9:.2f}B params on {where}",
            f"  weights      {self.weight_bytes / 1e9:.2f} GB ({e.quantization or self.dtype})",
            f"  KV per token {self.kv_bytes_per_token:,} B ({self.kv_bytes_per_token / 1024:g} KiB"
            ")",
        ]
        if self.vram_gib is not None:
            lines.append(
                f"  budget       {self.budget_bytes / GiB:.2f} GiB (x{e.gpu_memory_utilization}), "
                f"overhead ~{self.overhead_bytes / GiB:.2f} GiB"
            )
        lines += [
            f"  KV cache     {self.kv_cache_bytes / GiB:.2f} GiB = {self.kv_blocks:,} blocks of "
            f"{self.block_size} = {self.kv_tokens:,} tokens",
            f"  concurrency  {self.max_concurrent_seqs:.2f} x MAX_MODEL_LEN={e.max_model_len} "
            f"(MAX_NUM_SEQS={e.max_num_seqs})",
            ("FITS: " if self.fits else "REFUSED: ") + self.message,
        ]
        if self.suggestion:
            lines.append(f"  suggestion: {self.suggestion}")
        return "\n".join(lines)

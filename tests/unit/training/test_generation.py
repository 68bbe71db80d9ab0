"""Evaluation loads a model in the precision the server runs it in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from hrstack.server import embedded_model
from hrstack.training.generation import load_for_inference


@pytest.fixture()
def bf16_copy(tiny_model: Path, tmp_path: Path) -> Path:
    """The tiny model saved again in bf16, as a 16-bit merge writes it."""
    from transformers import AutoModelForCausalLM

    target = tmp_path / "bf16"
    AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16).save_pretrained(target)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if (tiny_model / name).is_file():
            shutil.copy(tiny_model / name, target / name)
    return target


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU rule; a GPU always loads bf16")
def test_a_bf16_model_is_evaluated_in_bf16_only_where_the_cpu_computes_it(
    bf16_copy, tiny_model, monkeypatch
):
    assert embedded_model.saved_dtype(bf16_copy) == "bfloat16"
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: True)
    assert load_for_inference(bf16_copy).dtype == torch.bfloat16
    assert load_for_inference(tiny_model).dtype == torch.float32, "saved in fp32: fp32"
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: False)
    assert load_for_inference(bf16_copy).dtype == torch.float32, "no bf16 units: fp32"

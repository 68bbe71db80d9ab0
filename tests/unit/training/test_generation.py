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


def _repeats(tokenizer, text: str) -> int:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return len(ids) - len(set(ids))


def test_evaluation_decodes_with_the_domains_frequency_penalty(tiny_model, domains, rules):
    """The Judge applies the domain's penalty: decoding greedily, the random tiny model repeats
    tokens at 0, and at 2.0 (the largest vLLM takes) barely any."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hrstack.tasks.domains import DomainTable
    from hrstack.training.generation import Judge, Prompt

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    base = domains["recruiting_strategy"]

    def table(penalty: float) -> DomainTable:
        # greedy: the random model's near-flat logits then loop on a few tokens unless penalised
        update = {"frequency_penalty": penalty, "max_tokens": 48, "temperature": 0.0}
        sampling = base.sampling.model_copy(update=update)
        return DomainTable({"recruiting_strategy": base.model_copy(update={"sampling": sampling})})

    prompts = [
        Prompt(
            f"p{i}", "recruiting_strategy", "synth", {"role": f"Nurse {i}", "context": "Two hires."}
        )
        for i in range(4)
    ]
    repeats = {}
    for penalty in (0.0, 2.0):
        judge = Judge(tokenizer, table(penalty), rules, batch_size=4, seed=0, constrained=False)
        answers = judge.run(model, prompts)
        seed = base.seed or ""
        repeats[penalty] = sum(_repeats(tokenizer, a.text.removeprefix(seed)) for a in answers)
    assert repeats[0.0] > 0, "the random model should repeat without a penalty"
    assert repeats[2.0] < repeats[0.0] / 4, repeats

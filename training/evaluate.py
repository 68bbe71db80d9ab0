"""Held-out evaluation of one model directory: per-domain pass rates and answer loss.

``hrstack train evaluate --config configs/train/cpu.yaml --model base``   (or merged, or a dir)

The test split is never seen by training or gating. The same rows, prompts, decoding and seed
are used for every model, so base vs fine-tuned differ only in the weights. Loss is the mean
negative log-likelihood of the reference answer tokens (exactly the tokens SFT trains on),
perplexity its exponential. Results carry a fingerprint of their inputs and are reused when
nothing changed: the base model's numbers do not move between runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from hrstack.server.embedded_model import cpu_dtype_of
from hrstack.tasks.domains import DomainTable
from hrstack.training.config import TrainConfig
from hrstack.training.formats import Example, read_examples
from hrstack.training.generation import (
    DECODING_VERSION,
    Judge,
    Prompt,
    load_for_inference,
    pass_rates,
)
from hrstack.validators import ValidatorRules
from hrstack.validators.config import configs_dir


def wilson(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: honest error bars for small samples (10/10 is not 100%)."""
    if total == 0:
        return 0.0, 0.0
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return round(max(0.0, centre - spread), 4), round(min(1.0, centre + spread), 4)


def heldout_rows(test: list[Example], per_domain: int | None, seed: int) -> list[Example]:
    """The evaluated test rows: up to ``per_domain`` per domain, the same for every model."""
    by_domain: dict[str, list[Example]] = defaultdict(list)
    for row in test:
        if row.fields:
            by_domain[row.domain].append(row)
    chosen = []
    for domain in sorted(by_domain):
        rows = sorted(by_domain[domain], key=lambda r: r.id)
        random.Random(f"{seed}-heldout-{domain}").shuffle(rows)
        chosen += rows[:per_domain] if per_domain else rows
    return chosen


def answer_loss(
    model: Any, tokenizer: Any, rows: list[Example], domains: DomainTable, max_length: int
) -> dict[str, Any]:
    """Token-weighted NLL of the answers, overall and per domain."""
    import torch

    from hrstack.training.chat import IGNORE, encode_example

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    model.eval()
    with torch.inference_mode():
        for row in rows:
            encoded = encode_example(tokenizer, row, domains[row.domain], max_length)
            ids = torch.tensor([encoded["input_ids"]], device=model.device)
            labels = torch.tensor([encoded["labels"]])
            logits = model(input_ids=ids).logits[:, :-1].float()
            target = labels[:, 1:].to(logits.device)
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                ignore_index=IGNORE, reduction="sum",
            )  # fmt: skip
            totals[row.domain][0] += float(nll)
            totals[row.domain][1] += int((target != IGNORE).sum())
    per_domain = {d: _loss_entry(nll, n) for d, (nll, n) in sorted(totals.items())}
    nll_all = sum(v[0] for v in totals.values())
    tokens = sum(v[1] for v in totals.values())
    return {**_loss_entry(nll_all, tokens), "per_domain": per_domain}


def _loss_entry(nll: float, tokens: float) -> dict[str, float]:
    loss = nll / tokens if tokens else float("nan")
    return {"loss": round(loss, 4), "perplexity": round(math.exp(loss), 3), "tokens": tokens}


def fingerprint(model_dir: Path, rows: list[Example], cfg: TrainConfig) -> str:
    """Changes when the weights, the rows, the prompts/rules, the decoding or its seed change."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in model_dir.glob("*.safetensors")):
        stat = (model_dir / name).stat()
        digest.update(f"{model_dir.resolve()}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update("".join(r.id for r in rows).encode())
    for config in ("domains.yaml", "validators.yaml"):
        digest.update((configs_dir() / config).read_bytes())
    digest.update(f"{cfg.seed}:{cfg.eval.constrained}:{DECODING_VERSION}".encode())
    digest.update(cpu_dtype_of(model_dir).encode())  # the precision it is evaluated in
    return digest.hexdigest()[:16]


def _rates(judged: list[Any]) -> dict[str, Any]:
    return {
        domain: {"passed": p, "total": t, "rate": round(p / t, 4), "ci95": wilson(p, t)}
        for domain, (p, t) in pass_rates(judged).items()
    }


def evaluate_model(
    model_dir: Path,
    label: str,
    cfg: TrainConfig,
    domains: DomainTable,
    rules: ValidatorRules,
    *,
    unconstrained: bool | None = None,
) -> dict[str, Any]:
    """Evaluate ``model_dir`` on the held-out rows; writes eval/<label>.json (+ samples).

    ``unconstrained`` (default ``eval.report_unconstrained``) adds the free-decoding pass. A
    result cached for the same weights, rows and decoding is reused when it holds every pass
    asked for, so a base model measured once with its free pass is never decoded again."""
    from transformers import AutoTokenizer

    started = time.perf_counter()
    paths = cfg.paths
    rows = heldout_rows(read_examples(paths.split("test")), cfg.eval.heldout_per_domain, cfg.seed)
    out_path = paths.evals / f"{label}.json"
    key = fingerprint(model_dir, rows, cfg)
    free_pass = cfg.eval.constrained and (
        cfg.eval.report_unconstrained if unconstrained is None else unconstrained
    )
    if out_path.is_file():
        cached: dict[str, Any] = json.loads(out_path.read_text())
        if cached.get("fingerprint") == key and (
            cached.get("unconstrained_rates") or not free_pass
        ):
            return cached
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_for_inference(model_dir)
    judge = Judge(
        tokenizer, domains, rules,
        batch_size=cfg.eval.batch_size, seed=cfg.seed, constrained=cfg.eval.constrained,
    )  # fmt: skip
    prompts = [p for p in map(Prompt.of, rows) if p is not None]
    judged = judge.run(model, prompts, desc=f"held-out eval ({label})")
    rates = _rates(judged)
    free: dict[str, Any] | None = None
    if free_pass:
        loose = Judge(tokenizer, domains, rules, batch_size=cfg.eval.batch_size, seed=cfg.seed,
                      constrained=False)  # fmt: skip
        free_judged = loose.run(model, prompts, desc=f"held-out eval ({label}, unconstrained)")
        free = _rates(free_judged)
        _write_samples(paths.evals / f"{label}.unconstrained.samples.jsonl", free_judged)
    result = {
        "label": label,
        "model": str(model_dir),
        "fingerprint": key,
        "rows": len(rows),
        "rates": rates,
        "unconstrained_rates": free,
        "loss": answer_loss(model, tokenizer, rows, domains, cfg.model.max_length),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    _write_samples(paths.evals / f"{label}.samples.jsonl", judged)
    out_path.write_text(json.dumps(result, indent=2))
    return result


def _write_samples(path: Path, judged: list[Any]) -> None:
    """Every answer with its verdict: what a pass rate is made of, to read when it moves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for item in judged:
            handle.write(json.dumps({"id": item.id, "domain": item.domain, "ok": item.ok,
                                     "failed": item.failed, "text": item.text}) + "\n")  # fmt: skip

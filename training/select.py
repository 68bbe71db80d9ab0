"""Select stage: the best saved checkpoint.

``hrstack train select --config configs/train/cpu.yaml``

    best = highest minimum per-domain pass rate at its check; tie -> lowest eval loss

The minimum, not the mean: a checkpoint is only as servable as its weakest domain (the field
log's resume problem hid behind 100% elsewhere). Eval losses are compared only between
checkpoints of one backend (a 4-bit Qwen and an fp32 SmolLM2 have different tokenizers and
numerics); a tie across backends is an error, not a coin toss. If losses tie too, the later
step wins (more training at equal quality). Only checkpoints the gate let exist are candidates:
each carries its decision in ``hrstack_gate.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from hrstack.training.config import TrainConfig
from hrstack.training.gating import DECISION_FILE


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    step: int
    backend: str
    min_rate: Fraction
    weakest: str
    eval_loss: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "step": self.step,
            "backend": self.backend,
            "min_rate": round(float(self.min_rate), 4),
            "weakest_domain": self.weakest,
            "eval_loss": self.eval_loss,
        }


def candidate_of(path: Path, domains: list[str] | None = None) -> Candidate | None:
    """The checkpoint's own check, read from its decision file (None if it has none)."""
    decision_file = path / DECISION_FILE
    if not decision_file.is_file():
        return None
    decision = json.loads(decision_file.read_text())
    counts = {
        d: Fraction(p, t) if t else Fraction(0)
        for d, (p, t) in decision["counts"].items()
        if domains is None or d in domains
    }
    weakest = min(sorted(counts), key=lambda d: counts[d])
    return Candidate(
        path=path,
        step=decision["step"],
        backend=decision.get("extra", {}).get("backend", "unknown"),
        min_rate=counts[weakest],
        weakest=weakest,
        eval_loss=decision.get("eval_loss"),
    )


def choose(candidates: list[Candidate]) -> Candidate:
    if not candidates:
        raise ValueError(
            "no checkpoint to select: the gate blocked every check after warmup (see "
            "gating.jsonl for the reasons). Train longer, lower gating.threshold, or raise "
            "gating.warmup_steps to keep early checkpoints."
        )
    best = max(c.min_rate for c in candidates)
    tied = [c for c in candidates if c.min_rate == best]
    if len({c.backend for c in tied}) > 1:
        raise ValueError(
            f"checkpoints of backends {sorted({c.backend for c in tied})} tie at min pass rate "
            f"{float(best):.1%}; their eval losses are not comparable. Select within one run."
        )
    return min(
        tied,
        key=lambda c: (c.eval_loss if c.eval_loss is not None else math.inf, -c.step),
    )


def run_select(cfg: TrainConfig) -> dict[str, Any]:
    paths = cfg.paths
    found = [
        candidate_of(p, cfg.gating.domains) for p in sorted(paths.checkpoints.glob("checkpoint-*"))
    ]
    candidates = sorted((c for c in found if c is not None), key=lambda c: c.step)
    chosen = choose(candidates)
    result = {
        "selected": chosen.to_dict(),
        "rule": "highest minimum domain pass rate; tie -> lowest eval loss (same backend)",
        "candidates": [c.to_dict() for c in candidates],
    }
    paths.selected.write_text(json.dumps(result, indent=2))
    return result

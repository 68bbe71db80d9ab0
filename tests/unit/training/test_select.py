"""Best-checkpoint selection: highest minimum domain pass rate, then lowest eval loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrstack.training.select import Candidate, candidate_of, choose


def checkpoint(root: Path, step: int, counts: dict[str, list[int]], loss: float | None,
               backend: str = "hf") -> Path:  # fmt: skip
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    decision = {"step": step, "counts": counts, "eval_loss": loss, "extra": {"backend": backend}}
    (path / "hrstack_gate.json").write_text(json.dumps(decision))
    return path


def candidates(root: Path, specs: list[tuple[int, int, float | None, str]]) -> list[Candidate]:
    out = []
    for step, resume, loss, backend in specs:
        path = checkpoint(root, step, {"resume_guidance": [resume, 60], "rank": [30, 30]}, loss,
                          backend)  # fmt: skip
        found = candidate_of(path)
        assert found is not None
        out.append(found)
    return out


def test_highest_minimum_wins_over_lower_loss(tmp_path):
    chosen = choose(candidates(tmp_path, [(100, 50, 0.1, "hf"), (200, 53, 0.9, "hf")]))
    assert chosen.step == 200 and chosen.weakest == "resume_guidance"


def test_tie_goes_to_lowest_eval_loss_then_later_step(tmp_path):
    found = candidates(tmp_path, [(100, 50, 0.3, "hf"), (200, 50, 0.2, "hf"), (300, 50, 0.2, "hf")])
    assert choose(found).step == 300
    assert choose(found[:2]).step == 200


def test_losses_of_different_backends_are_never_compared(tmp_path):
    found = candidates(tmp_path, [(100, 50, 0.3, "hf"), (200, 50, 0.2, "unsloth")])
    with pytest.raises(ValueError, match="not comparable"):
        choose(found)


def test_nothing_saved_explains_what_to_do():
    with pytest.raises(ValueError, match="gate blocked every check"):
        choose([])


def test_directories_without_a_decision_are_not_candidates(tmp_path):
    (tmp_path / "checkpoint-5").mkdir()
    assert candidate_of(tmp_path / "checkpoint-5") is None

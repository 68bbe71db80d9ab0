"""How well a rank score predicts the gold decision: expected calibration error (ECE).

A score is read as the probability that the gold decision is "shortlist". Scores fall in equal
bins over 0..1; in each bin the mean score is set against the share of gold shortlists, and
ECE is the pair-weighted mean gap. 0 is perfect; a system that scores every pair 0.9 on a set
with half shortlists has an ECE of 0.4. Answers without a score are counted, not binned.

>>> report = calibration([(0.9, True), (0.8, True), (0.2, False), (0.3, True)], bins=2)
>>> round(report["ece"], 3), report["scored"]
(0.2, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BINS = 10


def calibration(scored: Sequence[tuple[float | None, bool]], bins: int = BINS) -> dict[str, Any]:
    """(score, gold is shortlist) per answer -> {ece, scored, unscored, bins: [...]}; the ECE
    is None when no answer has a score."""
    usable = [(min(max(s, 0.0), 1.0), y) for s, y in scored if s is not None]
    rows = []
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        last = index == bins - 1
        inside = [(s, y) for s, y in usable if low <= s < high or (last and s == high)]
        if inside:
            rows.append({
                "low": low, "high": high, "n": len(inside),
                "mean_score": sum(s for s, _ in inside) / len(inside),
                "shortlist_rate": sum(y for _, y in inside) / len(inside),
            })  # fmt: skip
    ece = (
        sum(r["n"] * abs(r["mean_score"] - r["shortlist_rate"]) for r in rows) / len(usable)
        if usable
        else None
    )
    return {"ece": ece, "scored": len(usable), "unscored": len(scored) - len(usable), "bins": rows}

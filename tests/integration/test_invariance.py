"""Name and gender swaps change no decision of the served /v1/rank or /v1/match (the real model).

Each labelled pair (training.rank_pairs, the pairs rank-eval scores) is ranked twice through
the gateway, as two profiles identical but for gender cues (training.rank_eval.gender_variants:
"James Miller. He ..." against "Emily Miller. She ..."), at the same sampling seed. The
gateway redacts names and gendered words before the model reads the candidate, so the model
must see the same prompt and give the same verdict; a flip means a protected attribute reached
it. The target is 100%: every decision, status and score equal. /v1/match, a screening decision
too, is held to the same: the same recommendation and status, scores at most 5 points apart.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from hrstack.training.rank_eval import gender_variants
from hrstack.training.rank_pairs import generate_pairs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.heavy]

PAIRS = 4


def _rank(client: httpx.Client, job: str, candidate: str, seed: int) -> dict:
    body = {"job_description": job, "candidate": candidate}
    response = client.post(f"/v1/rank?max_attempts=1&seed={seed}", json=body)
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    return result


def test_gender_swapped_profiles_get_the_same_verdict(client: httpx.Client) -> None:
    pairs = [p for p in generate_pairs(24, 11) if p.kind == "plain"][:PAIRS]
    assert len(pairs) == PAIRS
    verdicts = []
    for seed, pair in enumerate(pairs):
        first, second = gender_variants(pair.candidate)
        assert first != second
        a = _rank(client, pair.job_description, replace(pair, candidate=first).candidate, seed)
        b = _rank(client, pair.job_description, replace(pair, candidate=second).candidate, seed)
        assert a["redacted"].get("name") and a["redacted"].get("gender"), a["redacted"]
        assert a["redacted"] == b["redacted"]
        verdicts.append(((a["decision"], a["status"], a["score"]),
                         (b["decision"], b["status"], b["score"])))  # fmt: skip
    flipped = [i for i, (a, b) in enumerate(verdicts) if a != b]
    assert not flipped, f"verdicts changed with gender cues: {[verdicts[i] for i in flipped]}"


def _match(client: httpx.Client, job: str, resume: str, seed: int) -> dict:
    body = {"job_description": job, "resume": resume}
    response = client.post(f"/v1/match?max_attempts=1&seed={seed}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_gender_swapped_profiles_get_the_same_match(client: httpx.Client) -> None:
    pairs = [p for p in generate_pairs(24, 11) if p.kind == "plain"][:PAIRS]
    verdicts = []
    for seed, pair in enumerate(pairs):
        first, second = gender_variants(pair.candidate)
        a = _match(client, pair.job_description, first, seed)
        b = _match(client, pair.job_description, second, seed)
        assert a["redacted"].get("name") and a["redacted"].get("gender"), a["redacted"]
        assert a["redacted"] == b["redacted"]
        verdicts.append(((a["decision"], a["status"], a["score"]),
                         (b["decision"], b["status"], b["score"])))  # fmt: skip
    moved = [
        (a, b) for a, b in verdicts
        if a[:2] != b[:2] or a[2] is None or b[2] is None or abs(a[2] - b[2]) > 5
    ]  # fmt: skip
    assert not moved, f"match verdicts changed with gender cues: {moved}"
    assert any(a[0] is not None for a, _ in verdicts), f"no recommendation at all: {verdicts}"

"""The fast nucleus sampler keeps exactly transformers' top-p set and draws from it."""

from __future__ import annotations

import pytest
import torch
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from hrstack.training.sampler import NucleusSampler


def hf_kept(scores: torch.Tensor, temperature: float, top_p: float) -> set[tuple[int, int]]:
    warped = TopPLogitsWarper(top_p)(None, TemperatureLogitsWarper(temperature)(None, scores))
    return {tuple(i) for i in torch.isfinite(warped).nonzero().tolist()}


@pytest.mark.parametrize(("temperature", "top_p", "candidates"), [
    (0.3, 0.95, 256), (1.0, 0.9, 256), (1.0, 0.99, 8),  # the last one needs the fallback
])  # fmt: skip
def test_draws_only_from_the_transformers_nucleus(temperature, top_p, candidates):
    torch.manual_seed(0)
    scores = torch.randn(6, 1000) * 4
    kept = hf_kept(scores, temperature, top_p)
    sampler = NucleusSampler(temperature, top_p, candidates=candidates)
    for _ in range(50):
        out = sampler(None, scores)
        assert (torch.isfinite(out).sum(-1) == 1).all()
        chosen = {(row, int(out[row].argmax())) for row in range(6)}
        assert chosen <= kept


def test_keep_mask_matches_the_definition():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    assert NucleusSampler(1.0, 0.8).keep_mask(probs).tolist() == [True, True, False, False]
    assert NucleusSampler(1.0, 0.81).keep_mask(probs).tolist() == [True, True, True, False]
    assert NucleusSampler(1.0, 0.1).keep_mask(probs).tolist() == [True, False, False, False]


def test_frequencies_follow_the_renormalised_nucleus():
    scores = torch.log(torch.tensor([[0.6, 0.25, 0.1, 0.05]]))
    sampler = NucleusSampler(1.0, 0.9)  # keeps 0.6, 0.25, 0.1 -> 0.632, 0.263, 0.105
    torch.manual_seed(1)
    counts = torch.zeros(4)
    for _ in range(4000):
        counts[int(sampler(None, scores).argmax())] += 1
    assert counts[3] == 0
    assert torch.allclose(counts[:3] / 4000, torch.tensor([0.632, 0.263, 0.105]), atol=0.03)


def test_temperature_zero_is_rejected():
    with pytest.raises(ValueError, match="greedy"):
        NucleusSampler(0.0, 0.9)


def test_frequency_penalty_counts_only_generated_tokens_as_vllm_does():
    from hrstack.training.sampler import FrequencyPenalty

    scores = torch.zeros(2, 6)
    # prompt width 3: tokens 1 and 2 of the prompt (the seed included) are not counted
    input_ids = torch.tensor([[1, 2, 2, 4, 4, 5], [0, 1, 1, 3, 0, 0]])
    out = FrequencyPenalty(0.5, prompt_width=3)(input_ids, scores)
    assert out.tolist() == [
        [0.0, 0.0, 0.0, 0.0, -1.0, -0.5],  # 4 generated twice, 5 once
        [-1.0, 0.0, 0.0, -0.5, 0.0, 0.0],
    ]
    masked = torch.tensor([[float("-inf"), 1.0, 1.0, 1.0, 1.0, 1.0]] * 2)
    assert FrequencyPenalty(1.0, 3)(input_ids, masked)[1, 0] == float("-inf")  # a mask holds
    assert FrequencyPenalty(1.0, 6)(input_ids, scores).equal(scores)  # nothing generated yet

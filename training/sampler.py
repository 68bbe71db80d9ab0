"""Production sampling (temperature + nucleus) as one logits processor, fast on CPU.

transformers' sampling path sorts the whole vocabulary for top-p and runs ``torch.multinomial``
over it every step: for SmolLM2's 49,152 tokens and a batch of 16 that costs more than the
135M model's forward pass on a CPU. This processor keeps the same semantics — temperature, then
the smallest set of most likely tokens whose mass reaches ``top_p`` (a token is kept when the
mass strictly above it is below ``top_p``, as transformers' ``TopPLogitsWarper`` and vLLM keep
it), then a draw from that set — but looks at the top 256 tokens only, which is exact whenever
they hold at least ``top_p`` of the mass (always, at temperature 0.3) and falls back to a full
sort otherwise. It draws the token itself and returns scores where only that token is finite,
so ``generate(do_sample=False)`` picks it with a cheap argmax. Runs after the repetition penalty
and the rank grammar mask, i.e. on the logits vLLM would sample from.
"""

from __future__ import annotations

from typing import Any

import torch

CANDIDATES = 256


class NucleusSampler:
    """``__call__(input_ids, scores) -> scores`` with one finite entry per row: the draw."""

    def __init__(self, temperature: float, top_p: float, candidates: int = CANDIDATES) -> None:
        if temperature <= 0:
            raise ValueError("temperature 0 is greedy decoding: use no sampler")
        self.temperature = temperature
        self.top_p = top_p
        self.candidates = candidates

    def keep_mask(self, sorted_probs: torch.Tensor) -> torch.Tensor:
        """Which of the descending-sorted tokens the nucleus keeps (always at least one)."""
        above = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        keep = above < self.top_p
        keep[..., 0] = True
        return keep

    def __call__(self, input_ids: Any, scores: torch.Tensor) -> torch.Tensor:
        logits = scores.float() / self.temperature
        k = min(self.candidates, logits.shape[-1])
        values, indices = torch.topk(logits, k, dim=-1)
        probs = torch.exp(values - torch.logsumexp(logits, dim=-1, keepdim=True))
        chosen = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
        for row in range(logits.shape[0]):
            if float(probs[row].sum()) >= self.top_p:
                row_probs, row_ids = probs[row], indices[row]
            else:  # the nucleus is wider than the candidates: sort everything (rare)
                full = torch.softmax(logits[row], dim=-1)
                row_probs, row_ids = torch.sort(full, descending=True)
            kept = torch.where(self.keep_mask(row_probs), row_probs, torch.zeros_like(row_probs))
            chosen[row] = row_ids[torch.multinomial(kept / kept.sum(), 1)]
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen.unsqueeze(-1), 0.0)
        return out


class FrequencyPenalty:
    """vLLM's ``frequency_penalty`` (the OpenAI definition): each token's logit drops by the
    penalty times the number of times it was generated so far in the row. Prompt tokens, the
    seeded "1." included, are not counted (vLLM sends the seed as part of the prompt), so
    ``input_ids[:, prompt_width:]`` are the generated ones. Without it an evaluated list repeats
    items the served domain's penalty keeps distinct (configs/domains.yaml, ats_keywords)."""

    def __init__(self, penalty: float, prompt_width: int) -> None:
        self.penalty = penalty
        self.prompt_width = prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids[:, self.prompt_width :]
        if generated.shape[1] == 0:
            return scores
        counts = torch.zeros(scores.shape, dtype=torch.float32, device=scores.device)
        counts.scatter_add_(1, generated, torch.ones(generated.shape, device=scores.device))
        return scores.float() - self.penalty * counts

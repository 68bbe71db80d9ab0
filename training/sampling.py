"""Which validation prompts each check evaluates (the field log's two sampling modes).

* stratified (before ``eval.stabilize_from_step``): a fresh draw per check with a fixed quota
  per domain (60 resume, 40 JD, 40 match, 30 recruiting, 30 ATS, 30 rank, times ``scale``).
  Cheap and unbiased, but two checks see different prompts, which the log blamed for the
  step-300 "resume dip".
* stabilized (from that step): one sample drawn once and reused by every later check, with a
  fixed source mix where configured (resume 40 synthetic + 20 original, JD 30 + 10), so a
  change in pass rate is a change in the model, not in the prompts.

When a split has fewer rows of a source than asked (a CPU run has no original data), the gap
is filled from the other source and recorded in the check's notes, never silently.
"""

from __future__ import annotations

import random
from collections import defaultdict

from hrstack.training.config import EvalConfig, Source
from hrstack.training.formats import Example
from hrstack.training.generation import Prompt

STRATIFIED, STABILIZED = "stratified", "stabilized"


class EvalSampler:
    def __init__(self, rows: list[Example], cfg: EvalConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.pool: dict[str, dict[str, list[Prompt]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            prompt = Prompt.of(row)
            if prompt is not None:
                self.pool[row.domain][row.source].append(prompt)
        self._fixed: tuple[list[Prompt], dict[str, str]] | None = None

    def mode(self, step: int) -> str:
        return STABILIZED if step >= self.cfg.stabilize_from_step else STRATIFIED

    def domains(self) -> list[str]:
        return [d for d in self.cfg.quotas if self.cfg.quota(d) > 0 and d in self.pool]

    def sample(self, step: int) -> tuple[str, list[Prompt], dict[str, str]]:
        """(mode, prompts, notes) for the check at ``step``."""
        mode = self.mode(step)
        if mode == STABILIZED:
            if self._fixed is None:
                self._fixed = self._draw(random.Random(f"{self.seed}-stabilized"), by_source=True)
            prompts, notes = self._fixed
            return mode, list(prompts), dict(notes)
        prompts, notes = self._draw(random.Random(f"{self.seed}-step-{step}"), by_source=False)
        return mode, prompts, notes

    def _draw(self, rng: random.Random, *, by_source: bool) -> tuple[list[Prompt], dict[str, str]]:
        prompts: list[Prompt] = []
        notes: dict[str, str] = {}
        for domain in self.domains():
            sources = self.pool[domain]
            mix = self.cfg.source_quota(domain) if by_source else None
            if mix is None:
                everything = [p for source in sorted(sources) for p in sources[source]]
                chosen = rng.sample(everything, min(self.cfg.quota(domain), len(everything)))
                if len(chosen) < self.cfg.quota(domain):
                    notes[domain] = f"asked {self.cfg.quota(domain)}, split has {len(chosen)}"
            else:
                chosen, note = self._mixed(rng, sources, mix)
                if note:
                    notes[domain] = note
            prompts += chosen
        return prompts, notes

    @staticmethod
    def _mixed(
        rng: random.Random, sources: dict[str, list[Prompt]], mix: dict[Source, int]
    ) -> tuple[list[Prompt], str]:
        chosen: list[Prompt] = []
        short = 0
        gaps = []
        for source, wanted in mix.items():
            available = sources.get(source, [])
            take = rng.sample(available, min(wanted, len(available)))
            chosen += take
            if len(take) < wanted:
                short += wanted - len(take)
                gaps.append(f"{source}: asked {wanted}, found {len(take)}")
        if short:
            taken = {p.id for p in chosen}
            rest = [p for s in sorted(sources) for p in sources[s] if p.id not in taken]
            chosen += rng.sample(rest, min(short, len(rest)))
            gaps.append(f"filled {min(short, len(rest))} from other sources")
        return chosen, "; ".join(gaps)

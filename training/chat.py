"""Prompt text, label masks and decoding settings, identical for training and evaluation.

Production sends ``tasks.prompts.build_messages(domain, fields)``: system prompt, tagged user
message and, for seeded domains, the assistant prefix "1." continued with
``continue_final_message``. Training splits every row at exactly that point: the prompt is what
vLLM renders and the loss covers only what the model must produce after it (the rest of the
answer and the end-of-turn token). The seed itself is never trained on, because the server
always supplies it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hrstack.tasks.domains import DomainConfig
from hrstack.training.formats import Example

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedTokenizerBase

    from hrstack.training.sampler import FrequencyPenalty, NucleusSampler

log = logging.getLogger(__name__)
IGNORE = -100  # label value the loss skips (torch.nn.CrossEntropyLoss ignore_index)


def prompt_and_completion(
    example: Example, domain: DomainConfig
) -> tuple[list[dict[str, str]], str]:
    """The messages production would send for this row, and the text the model must add."""
    messages = [m.model_dump() for m in example.messages[:-1]]
    answer = example.answer
    prefix = domain.sent_prefix
    if prefix and answer.startswith(prefix):
        return [*messages, {"role": "assistant", "content": prefix}], answer[len(prefix) :]
    return messages, answer


def render_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> str:
    """Chat-template text as vLLM renders it: continue a final assistant prefix, else open an
    assistant turn."""
    seeded = messages[-1]["role"] == "assistant"
    text = tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        continue_final_message=seeded,
        add_generation_prompt=not seeded,
    )
    return str(text)


def encode_example(
    tokenizer: PreTrainedTokenizerBase, example: Example, domain: DomainConfig, max_length: int
) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` with every prompt token masked (loss on the answer only)."""
    messages, completion = prompt_and_completion(example, domain)
    prompt = render_prompt(tokenizer, messages)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(prompt + completion + tokenizer.eos_token, add_special_tokens=False)[
        "input_ids"
    ]
    shared = 0
    for a, b in zip(prompt_ids, ids, strict=False):
        if a != b:
            break
        shared += 1
    if shared < len(prompt_ids):
        log.warning(
            "%s: prompt tokens merge with the answer; masking %d tokens", example.id, shared
        )
    labels = [IGNORE] * shared + ids[shared:]
    return {"input_ids": ids[:max_length], "labels": labels[:max_length]}


def generation_config(domain: DomainConfig, tokenizer: PreTrainedTokenizerBase) -> GenerationConfig:
    """Length, repetition penalty and stop token of the domain's production sampling
    (configs/domains.yaml). Temperature and top-p are applied by :func:`sampler` instead of
    transformers' warpers (same semantics, much faster on CPU), so decoding here is "greedy"
    over scores in which the sampler left only its draw."""
    from transformers import GenerationConfig

    sampling = domain.sampling
    return GenerationConfig(
        do_sample=False,
        max_new_tokens=sampling.max_tokens,
        repetition_penalty=sampling.repetition_penalty,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
    )


def penalty(domain: DomainConfig, prompt_width: int) -> FrequencyPenalty | None:
    """The domain's frequency penalty over the tokens generated after ``prompt_width``."""
    from hrstack.training.sampler import FrequencyPenalty

    value = domain.sampling.frequency_penalty
    return FrequencyPenalty(value, prompt_width) if value else None


def sampler(domain: DomainConfig) -> NucleusSampler | None:
    """The domain's temperature/top-p draw (vLLM's default top_k=-1: no top-k cut)."""
    from hrstack.training.sampler import NucleusSampler

    sampling = domain.sampling
    if sampling.temperature == 0:
        return None
    return NucleusSampler(sampling.temperature, sampling.top_p)

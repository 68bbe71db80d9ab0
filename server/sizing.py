"""Fitting a request into the served model's context, in tokens, before any generation.

Characters say little about tokens (a posting full of "Kubernetes/CI/CD" splits finer than
prose), and vLLM, handed a prompt that fits but leaves no room for the answer, clamps
``max_tokens`` silently: a rank answer cut off mid-JSON. So the gateway asks the engine itself
(``/tokenize``, the served model's tokenizer and chat template) how long the exact prompt is,
and compares prompt + the domain's answer budget with the model's context.

What happens beyond it is the ``INPUT_OVERFLOW`` policy:

- ``refuse`` (default): a 422 naming every field with its token count, the answer budget and
  the limit. Nothing is silently dropped from a hiring document.
- ``truncate``: the longest document field is cut from its end, at a line or sentence break,
  until the prompt fits; the response carries an ``input_truncated`` flag per cut field. The end
  goes first because postings and CVs put what matters first (title, summary, most recent role,
  requirements) and what matters least last (older roles, hobbies, legal boilerplate).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from hrstack.server.engine import EngineClient, PromptSize
from hrstack.server.errors import InputTooLong
from hrstack.tasks.untrusted import InputFlag

Policy = Literal["refuse", "truncate"]
#: Builds the chat payload for a set of fields: sizing measures exactly what will be sent.
PayloadFor = Callable[[Mapping[str, str | None]], dict[str, object]]

#: Fields that are documents, which truncation may shorten; titles and roles never are.
TRUNCATABLE = ("resume", "candidate", "job_description", "details", "context")
#: Prompt parts the gateway writes itself (bounded where they are built), named apart from the
#: request's fields in an error so no client looks for them in its body.
GENERATED = ("evidence",)
#: Tokens kept free beyond the answer budget: the chat template's closing tokens and a margin
#: for a tokenizer that counts a cut boundary differently on the second look.
SLACK_TOKENS = 8
#: Rounds of cut-and-recount before truncation gives up and refuses.
TRUNCATE_ROUNDS = 4

_BREAK = re.compile(r"\n|(?<=[.;!?])\s")


@dataclass(frozen=True, slots=True)
class Fitted:
    fields: dict[str, str | None]
    flags: list[InputFlag]
    #: Tokens left in the context beyond the prompt and the answer budget (None: the engine
    #: could not say): what a repair turn may add to the prompt on a later attempt.
    room: int | None = None


def _room(size: PromptSize | None, answer_tokens: int) -> int | None:
    return None if size is None else -_overflow(size, answer_tokens)


def _overflow(size: PromptSize, answer_tokens: int) -> int:
    return size.tokens + answer_tokens + SLACK_TOKENS - size.max_model_len


def cut_end(text: str, keep_chars: int) -> str:
    """The text's first ``keep_chars`` characters, ended at the last line or sentence break in
    the second half of them (a hard cut when there is none)."""
    if keep_chars >= len(text):
        return text
    head = text[: max(0, keep_chars)]
    breaks = [m.start() for m in _BREAK.finditer(head) if m.start() >= len(head) // 2]
    return (head[: breaks[-1]] if breaks else head).rstrip()


async def fit(
    engine: EngineClient,
    payload_for: PayloadFor,
    fields: Mapping[str, str | None],
    *,
    model: str,
    domain: str,
    answer_tokens: int,
    policy: Policy,
    params: Mapping[str, str] | None = None,
) -> Fitted:
    """The fields as they will be sent (cut under ``truncate``), or InputTooLong. ``params``
    maps a prompt field to the request field clients know it by (rank's ``candidate`` is
    ``candidates[2].resume`` in a batch)."""
    current = dict(fields)
    size = await engine.prompt_size(payload_for(current))
    if size is None or _overflow(size, answer_tokens) <= 0:
        return Fitted(current, [], _room(size, answer_tokens))
    if policy == "truncate":
        fitted = await _truncate(engine, payload_for, current, size, model, answer_tokens)
        if fitted is not None:
            return fitted
    names = [name for name, value in fields.items() if value]
    counts = await engine.count_tokens(model, [fields[name] or "" for name in names]) or []
    per_field = {
        name: (tokens, len(fields[name] or "")) for name, tokens in zip(names, counts, strict=False)
    }
    raise too_long(domain, size, answer_tokens, per_field, params or {})


def too_long(
    domain: str,
    size: PromptSize,
    answer_tokens: int,
    per_field: Mapping[str, tuple[int, int]],
    params: Mapping[str, str],
) -> InputTooLong:
    """The 422: every field by its token count (largest first) and what the limit is.
    ``per_field`` maps a prompt field to (tokens, characters)."""

    def param(name: str) -> str:
        return f"generated.{name}" if name in GENERATED else f"body.{params.get(name, name)}"

    shown = sorted(per_field.items(), key=lambda item: -item[1][0])
    listed = ", ".join(f"{param(name)} {tokens:,} tokens" for name, (tokens, _) in shown)
    available = size.max_model_len - answer_tokens - SLACK_TOKENS
    message = (
        f"the input does not fit the served model: the {domain} prompt is {size.tokens:,} tokens "
        f"and its answer needs up to {answer_tokens:,} more, but the context is "
        f"{size.max_model_len:,} tokens (so at most {available:,} for the prompt). "
        f"By field: {listed or 'unknown'}. Shorten the longest field, or serve a profile with a "
        "longer MAX_MODEL_LEN"
    )
    largest = next((param(name) for name, _ in shown if name in TRUNCATABLE), None)
    return InputTooLong(
        message,
        param=largest or (param(shown[0][0]) if shown else "body"),
        extra={
            "prompt_tokens": size.tokens,
            "answer_tokens": answer_tokens,
            "max_model_len": size.max_model_len,
            "max_prompt_tokens": available,
            "fields": [
                {"param": param(name), "tokens": tokens, "chars": chars}
                for name, (tokens, chars) in shown
            ],
        },
    )


async def _truncate(
    engine: EngineClient,
    payload_for: PayloadFor,
    fields: dict[str, str | None],
    size: PromptSize,
    model: str,
    answer_tokens: int,
) -> Fitted | None:
    """Cut the longest document field from its end until the prompt fits; None if it can't."""
    original = dict(fields)
    for _ in range(TRUNCATE_ROUNDS):
        excess = _overflow(size, answer_tokens)
        if excess <= 0:
            return Fitted(fields, _truncation_flags(original, fields), -excess)
        cuttable = [n for n in TRUNCATABLE if fields.get(n)]
        if not cuttable:
            return None
        longest = max(cuttable, key=lambda n: len(fields[n] or ""))
        text = fields[longest] or ""
        counted = await engine.count_tokens(model, [text])
        if not counted or counted[0] <= excess:
            return None
        chars_per_token = len(text) / counted[0]
        keep = len(text) - math.ceil(excess * chars_per_token * 1.05)
        fields[longest] = cut_end(text, keep)
        next_size = await engine.prompt_size(payload_for(fields))
        if next_size is None:
            return None
        size = next_size
    if _overflow(size, answer_tokens) > 0:
        return None
    return Fitted(fields, _truncation_flags(original, fields), _room(size, answer_tokens))


def _truncation_flags(
    original: Mapping[str, str | None], fields: Mapping[str, str | None]
) -> list[InputFlag]:
    flags = []
    for name, before in original.items():
        after = fields.get(name)
        if before and after is not None and len(after) < len(before):
            flags.append(
                InputFlag(
                    field=name,
                    kind="input_truncated",
                    pattern=f"kept the first {len(after):,} of {len(before):,} characters",
                    excerpt=before[len(after) :][:80].strip(),
                )
            )
    return flags

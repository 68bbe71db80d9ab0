"""Turning a domain row and request fields into the exact chat payload vLLM receives.

One builder serves the gateway, the benchmark (which sends identical payloads to raw vLLM) and
training evaluation, so every path prompts and seeds the model the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from server.domains import DomainConfig
from validators.rules import RankRules


def render_user_message(domain: DomainConfig, fields: Mapping[str, str | None]) -> str:
    """Instruction, then each present field wrapped in tags so untrusted text reads as data."""
    parts = [domain.instruction]
    for name in domain.fields:
        value = fields.get(name)
        if value is not None and value.strip():
            parts.append(f"<{name}>\n{value.strip()}\n</{name}>")
    return "\n\n".join(parts)


def build_messages(domain: DomainConfig, fields: Mapping[str, str | None]) -> list[dict[str, str]]:
    messages = [
        {"role": "system", "content": domain.system_prompt},
        {"role": "user", "content": render_user_message(domain, fields)},
    ]
    if domain.sent_prefix:
        messages.append({"role": "assistant", "content": domain.sent_prefix})
    return messages


def rank_json_schema(rules: RankRules) -> dict[str, Any]:
    """The schema vLLM enforces for rank answers, derived from the validator's own limits.

    Reasons come first: the grammar writes properties in schema order, so the model states
    what it read (a missing must-have, the years) before it commits to a decision, and the
    decision is conditioned on its own reasons instead of preceding them. The object a client
    gets has the same keys either way."""
    return {
        "type": "object",
        "properties": {
            "reasons": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": rules.max_reason_chars},
                "minItems": rules.min_reasons,
                "maxItems": rules.max_reasons,
            },
            "decision": {"type": "string", "enum": ["shortlist", "reject"]},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["reasons", "decision", "score"],
        "additionalProperties": False,
    }


#: Characters allowed for the score in the worst-case estimate: JSON numbers are unbounded in
#: the grammar, and a model that spins on digits is the one risk the schema cannot close.
SCORE_CHARS = 24


def rank_answer_max_chars(rules: RankRules) -> int:
    """The longest compact-JSON rank answer the schema admits (ASCII text, score of
    ``SCORE_CHARS``). A token is at least one character, so a ``max_tokens`` at or above this
    never cuts a well-formed answer off mid-JSON, which would leave the client with no decision."""
    longest = {
        "decision": "shortlist",
        "score": 0,
        "reasons": ["x" * rules.max_reason_chars] * rules.max_reasons,
    }
    return len(json.dumps(longest, separators=(",", ":"))) - 1 + SCORE_CHARS


def build_payload(
    domain: DomainConfig,
    fields: Mapping[str, str | None],
    *,
    model: str,
    seed: int,
    rank_rules: RankRules,
) -> dict[str, Any]:
    """The /v1/chat/completions body for one attempt."""
    sampling = domain.sampling
    payload: dict[str, Any] = {
        "model": model,
        "messages": build_messages(domain, fields),
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "repetition_penalty": sampling.repetition_penalty,
        "seed": seed,
    }
    if domain.sent_prefix:
        # vLLM answers 400 if continue_final_message comes without add_generation_prompt=false.
        payload["continue_final_message"] = True
        payload["add_generation_prompt"] = False
    if domain.response_format == "json_schema":
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "rank", "schema": rank_json_schema(rank_rules), "strict": True},
        }
    return payload


def assemble_answer(domain: DomainConfig, completion: str) -> str:
    """The answer the user sees: the seed (with its space) followed by the continuation."""
    if not domain.seed:
        return completion.strip()
    # The model continues after "1." and usually emits the space itself; either way the user
    # sees exactly one seed, "1. ", followed by the text.
    return (domain.seed + completion.lstrip(" \t")).rstrip()


def prompt_version(domain: DomainConfig, rank_rules: RankRules) -> str:
    """A short hash of everything that shapes the model's answer besides the request: prompts,
    sampling, and the JSON schema. The audit log records it, so a decision can be traced to the
    prompt that produced it after the YAML has moved on."""
    shape = {"domain": domain.model_dump(mode="json"), "schema": rank_json_schema(rank_rules)}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
    return digest[:12]

"""Turning a domain row and request fields into the exact chat payload vLLM receives.

One builder serves the gateway, the benchmark (which sends identical payloads to raw vLLM) and
training evaluation, so every path prompts, seeds and constrains the model the same way. The
constraint comes from the domain's validator module (``validators.constraint``), built from the
same rules the validator judges with; the seed ("1.") is sent as the assistant prefix and the
grammar continues after it, so seeding and the constraint compose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hrstack.tasks.domains import DomainConfig
from hrstack.validators import Constraint, ValidationResult, ValidatorRules, constraint

#: How many characters of a failed answer a repair turn quotes back (a looping answer is long).
REPAIR_QUOTE_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Repair:
    """A failed attempt shown to the model on the next one: its answer and what failed."""

    answer: str
    result: ValidationResult


def repair_message(result: ValidationResult) -> str:
    """The follow-up turn after a failed answer: each failed check with its detail, then the
    ask to write the whole answer again in the required format."""
    lines = ["Your answer failed these checks:"]
    lines += [f"- {c.name}: {c.detail}" for c in result.checks if not c.ok]
    lines.append("Write the whole answer again, fixing these, in exactly the required format.")
    return "\n".join(lines)


def render_user_message(domain: DomainConfig, fields: Mapping[str, str | None]) -> str:
    """Instruction, then each present field wrapped in tags so untrusted text reads as data."""
    parts = [domain.instruction]
    for name in domain.fields:
        value = fields.get(name)
        if value is not None and value.strip():
            parts.append(f"<{name}>\n{value.strip()}\n</{name}>")
    return "\n\n".join(parts)


def build_messages(
    domain: DomainConfig, fields: Mapping[str, str | None], repair: Repair | None = None
) -> list[dict[str, str]]:
    """System, user, then (for a repair) the failed answer and the failed checks, then the
    seed as the assistant prefix the model continues."""
    messages = [
        {"role": "system", "content": domain.system_prompt},
        {"role": "user", "content": render_user_message(domain, fields)},
    ]
    if repair is not None:
        messages.append({"role": "assistant", "content": repair.answer[:REPAIR_QUOTE_CHARS]})
        messages.append({"role": "user", "content": repair_message(repair.result)})
    if domain.sent_prefix:
        messages.append({"role": "assistant", "content": domain.sent_prefix})
    return messages


def domain_constraint(
    domain: DomainConfig, fields: Mapping[str, str | None], rules: ValidatorRules
) -> Constraint | None:
    """The constraint the domain's row names, built for these fields (None: unconstrained).
    Its kind must be the one the row names: a YAML edit cannot silently change what the
    builder sends."""
    if domain.constraint == "none":
        return None
    context = {name: value for name, value in fields.items() if value}
    built = constraint(domain.validator, rules, context, after=domain.sent_prefix or "")
    if built.kind != domain.constraint:
        raise ValueError(
            f"{domain.path}: configs/domains.yaml says constraint {domain.constraint!r}, but the "
            f"{domain.validator} validator builds a {built.kind!r} constraint"
        )
    return built


def constraint_body(built: Constraint) -> dict[str, Any]:
    """The request keys vLLM (0.32) reads a constraint from."""
    if built.kind == "json_schema":
        schema = {"name": "answer", "schema": built.spec, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return {"structured_outputs": {built.kind: built.spec}}


def build_payload(
    domain: DomainConfig,
    fields: Mapping[str, str | None],
    *,
    model: str,
    seed: int | None,
    rules: ValidatorRules,
    constrained: bool = True,
    repair: Repair | None = None,
) -> dict[str, Any]:
    """The /v1/chat/completions body for one attempt; ``seed=None`` sends none (an engine that
    cannot take per-request seeds safely, see ``Settings.sends_seeds``); ``constrained=False``
    leaves the answer free (what the model itself does, for evaluation and the benchmark)."""
    sampling = domain.sampling
    payload: dict[str, Any] = {
        "model": model,
        "messages": build_messages(domain, fields, repair),
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "repetition_penalty": sampling.repetition_penalty,
    }
    if sampling.frequency_penalty:
        payload["frequency_penalty"] = sampling.frequency_penalty
    if seed is not None:
        payload["seed"] = seed
    if domain.sent_prefix:
        # vLLM answers 400 if continue_final_message comes without add_generation_prompt=false.
        payload["continue_final_message"] = True
        payload["add_generation_prompt"] = False
    built = domain_constraint(domain, fields, rules) if constrained else None
    if built is not None:
        payload.update(constraint_body(built))
    return payload


def assemble_answer(domain: DomainConfig, completion: str) -> str:
    """The answer the user sees: the seed (with its space) followed by the continuation."""
    if not domain.seed:
        return completion.strip()
    # The model continues after "1." and usually emits the space itself; either way the user
    # sees exactly one seed, "1. ", followed by the text.
    return (domain.seed + completion.lstrip(" \t")).rstrip()


def prompt_version(domain: DomainConfig, rules: ValidatorRules) -> str:
    """A short hash of everything that shapes the model's answer besides the request: prompts,
    sampling, and the rules the constraint is built from. The audit log records it, so a
    decision can be traced to the prompt that produced it after the YAML has moved on."""
    section = getattr(rules, domain.validator).model_dump(mode="json")
    shape = {"domain": domain.model_dump(mode="json"), "rules": section}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
    return digest[:12]

"""The one training row shape (ChatML + domain + source) and converters into it.

Every dataset ends as JSONL rows of :class:`Example`. Alpaca (instruction/input/output),
prompt/completion (strings or message lists) and ShareGPT (conversations with from/value) are
converted; a row that cannot be converted is reported with its file, line number and reason
and skipped (or, in strict mode, stops the run), because one bad row should neither crash a
long job silently nor slip into training.

A converted row without a system message gets its domain's production system prompt: the model
must learn under the prompt it will be served with. When the user message has the production
shape (instruction + ``<field>`` tags), its request ``fields`` are recovered so the row can also
serve as a generation-evaluation prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hrstack.tasks.domains import DomainConfig, DomainTable
from hrstack.tasks.prompts import render_user_message
from hrstack.training.config import Source
from hrstack.validators import DOMAINS

Role = Literal["system", "user", "assistant"]
SHAREGPT_ROLES: dict[str, Role] = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str = Field(min_length=1)


class Example(BaseModel):
    """One ChatML training row; ``fields`` are the request fields when the prompt has the
    production shape (synthetic rows always do), ``gold`` carries labels such as rank's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    domain: str
    source: Source
    messages: list[Message] = Field(min_length=2)
    fields: dict[str, str] | None = None
    gold: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Example:
        if self.domain not in DOMAINS:
            raise ValueError(f"domain {self.domain!r} is not one of {', '.join(DOMAINS)}")
        roles = [m.role for m in self.messages]
        body = roles[1:] if roles[0] == "system" else roles
        if "system" in body:
            raise ValueError("a system message may only come first")
        expected = ["user", "assistant"] * (len(body) // 2)
        if body != expected or not body:
            raise ValueError(
                f"turns must alternate user/assistant and end with the assistant; got {roles}"
            )
        if any(not m.content.strip() for m in self.messages):
            raise ValueError("a message has only whitespace")
        return self

    @property
    def answer(self) -> str:
        return self.messages[-1].content


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one input row was rejected, with where to find it."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class MalformedRow(ValueError):
    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


def example_id(domain: str, source: str, messages: Iterable[Message]) -> str:
    text = json.dumps([[m.role, m.content] for m in messages])
    return f"{source[:3]}-{domain}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def parse_fields(domain: DomainConfig, user_message: str) -> dict[str, str] | None:
    """Recover request fields from a production-shaped user message, else None."""
    fields = {}
    for name in domain.fields:
        found = re.search(rf"<{name}>\n(.*?)\n</{name}>", user_message, re.DOTALL)
        if found:
            fields[name] = found.group(1)
    if not fields or render_user_message(domain, fields) != user_message:
        return None
    return fields


def _text(row: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"'{key}' must be a non-empty string")
    return value


def from_alpaca(row: dict[str, Any]) -> list[dict[str, str]]:
    instruction, extra = _text(row, "instruction"), _text(row, "input", required=False)
    user = f"{instruction.strip()}\n\n{extra.strip()}" if extra.strip() else instruction.strip()
    output = _text(row, "output")
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    if isinstance(row.get("system"), str) and row["system"].strip():
        messages.insert(0, {"role": "system", "content": row["system"]})
    return messages


def from_prompt_completion(row: dict[str, Any]) -> list[dict[str, str]]:
    prompt, completion = row.get("prompt"), row.get("completion")
    if isinstance(prompt, str) and prompt.strip():
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and prompt:
        messages = list(prompt)
    else:
        raise ValueError("'prompt' must be a non-empty string or list of messages")
    if isinstance(completion, str) and completion.strip():
        return [*messages, {"role": "assistant", "content": completion}]
    if isinstance(completion, list) and len(completion) == 1:
        return [*messages, *completion]
    raise ValueError("'completion' must be a non-empty string or a one-message list")


def from_sharegpt(row: dict[str, Any]) -> list[dict[str, str]]:
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise ValueError("'conversations' must be a non-empty list")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise ValueError(f"conversations[{index}] needs string 'from' and 'value'")
        role = SHAREGPT_ROLES.get(str(turn.get("from", "")).lower())
        if role is None:
            raise ValueError(f"conversations[{index}] has unknown 'from' {turn.get('from')!r}")
        messages.append({"role": role, "content": turn["value"]})
    return messages


def from_chatml(row: dict[str, Any]) -> list[dict[str, str]]:
    messages = row.get("messages")
    if not isinstance(messages, list):
        raise ValueError("'messages' must be a list of {role, content}")
    return messages


CONVERTERS: dict[str, Callable[[dict[str, Any]], list[dict[str, str]]]] = {
    "chatml": from_chatml,
    "alpaca": from_alpaca,
    "prompt_completion": from_prompt_completion,
    "sharegpt": from_sharegpt,
}


def to_example(
    row: dict[str, Any], fmt: str, domains: DomainTable, default_domain: str | None
) -> Example:
    """Convert one parsed JSON object; ValueError says what is wrong with it."""
    domain = row.get("domain") or default_domain
    if not domain:
        raise ValueError("no domain: add a 'domain' key or set the source's domain in the config")
    if domain not in DOMAINS:
        raise ValueError(f"domain {domain!r} is not one of {', '.join(DOMAINS)}")
    source = row.get("source", "original")
    raw = CONVERTERS[fmt](row)
    try:
        messages = [Message.model_validate(m) for m in raw]
    except ValidationError as exc:
        raise ValueError(f"bad message: {exc.errors()[0]['msg']}") from exc
    cfg = domains[domain]
    if messages[0].role != "system":
        messages.insert(0, Message(role="system", content=cfg.system_prompt))
    fields = row.get("fields") or parse_fields(cfg, messages[1].content)
    try:
        return Example(
            id=row.get("id") or example_id(domain, str(source), messages),
            domain=domain,
            source=source,
            messages=messages,
            fields=fields,
            gold=row.get("gold"),
        )
    except ValidationError as exc:
        raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from exc


def read_rows(
    path: Path,
    fmt: str,
    domains: DomainTable,
    default_domain: str | None = None,
    *,
    strict: bool = False,
) -> tuple[list[Example], list[RowError]]:
    """All convertible rows of a JSONL file, and one :class:`RowError` per rejected row."""
    examples: list[Example] = []
    errors: list[RowError] = []
    for line_no, line in _lines(path):
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"expected a JSON object, got {type(row).__name__}")
            examples.append(to_example(row, fmt, domains, default_domain))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            error = RowError(str(path), line_no, f"{fmt}: {exc}")
            if strict:
                raise MalformedRow(error) from exc
            errors.append(error)
    return examples, errors


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.strip():
                yield line_no, line


def write_examples(path: Path, examples: Iterable[Example]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(example.model_dump_json(exclude_none=True) + "\n")
            count += 1
    return count


def read_examples(path: Path) -> list[Example]:
    """Rows this package wrote; any invalid row is a bug, so it raises with file and line."""
    out = []
    for line_no, line in _lines(path):
        try:
            out.append(Example.model_validate_json(line))
        except ValidationError as exc:
            raise ValueError(f"{path}:{line_no}: not a training row: {exc}") from exc
    return out

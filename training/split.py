"""Deduplication and a train/val/test split that never shares a source document.

A resume or job description that appears in training and in evaluation lets the model score by
recall, not by skill. Rows are therefore grouped by the documents they contain (``resume``,
``candidate`` and ``job_description`` fields, compared after case and whitespace folding;
rows without such a field are grouped by their user message), groups linked by a shared
document are merged (union-find), and whole groups are assigned to splits. Assignment is greedy
towards per-domain targets, so each split keeps the domain mix (stratified by domain).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from hrstack.training.formats import Example

DOC_FIELDS = ("resume", "candidate", "job_description")
HELDOUT = ("val", "test")


def normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def _digest(text: str) -> str:
    return hashlib.sha1(normalize(text).encode()).hexdigest()[:16]


def dedupe(examples: Sequence[Example]) -> tuple[list[Example], int]:
    """Drop rows whose domain, user turns and answer repeat an earlier row (case and spacing
    ignored); the system prompt does not count, so a row converted twice is caught."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        turns = "\x00".join(normalize(m.content) for m in example.messages if m.role != "system")
        key = (example.domain, turns)
        if key not in seen:
            seen.add(key)
            kept.append(example)
    return kept, len(examples) - len(kept)


def source_keys(example: Example) -> set[str]:
    """The documents a row is built on: its resume/candidate/JD texts, else its prompt."""
    user = next(m.content for m in example.messages if m.role == "user")
    docs = dict(example.fields or {})
    for name in DOC_FIELDS:
        if name not in docs:
            found = re.search(rf"<{name}>\n(.*?)\n</{name}>", user, re.DOTALL)
            if found:
                docs[name] = found.group(1)
    keys = {f"doc:{_digest(docs[name])}" for name in DOC_FIELDS if docs.get(name)}
    return keys or {f"prompt:{_digest(user)}"}


def groups(examples: Sequence[Example]) -> list[list[int]]:
    """Indices of rows that share a document, transitively (union-find over source keys)."""
    parent = list(range(len(examples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, example in enumerate(examples):
        for key in source_keys(example):
            if key in owner:
                parent[find(index)] = find(owner[key])
            else:
                owner[key] = index
    members: dict[int, list[int]] = defaultdict(list)
    for index in range(len(examples)):
        members[find(index)].append(index)
    return list(members.values())


def _targets(counts: Counter[str], fraction: float) -> dict[str, float]:
    """Rows per domain a held-out split should get; at least one where the domain has 3+."""
    return {d: max(1.0 if n >= 3 else 0.0, fraction * n) for d, n in counts.items()}


def split_examples(
    examples: Sequence[Example], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[Example]]:
    """{"train", "val", "test"} -> rows; no source document appears in two splits."""
    counts = Counter(e.domain for e in examples)
    targets = {"val": _targets(counts, val_fraction), "test": _targets(counts, test_fraction)}
    assigned: dict[str, Counter[str]] = {name: Counter() for name in HELDOUT}
    order = groups(examples)
    random.Random(seed).shuffle(order)
    order.sort(key=len, reverse=True)  # big groups first, while every split still has room
    out: dict[str, list[Example]] = {"train": [], "val": [], "test": []}
    for members in order:
        domains = Counter(examples[i].domain for i in members)
        best, best_room = "train", 0.0
        for name in HELDOUT:
            room = sum(min(n, targets[name][d] - assigned[name][d]) for d, n in domains.items())
            if room > best_room and room >= len(members) / 2:
                best, best_room = name, room
        if best != "train":
            assigned[best].update(domains)
        out[best].extend(examples[i] for i in sorted(members))
    return out

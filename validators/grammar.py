"""A small grammar algebra that renders to xgrammar EBNF and knows its own length bounds.

Each text domain's decoding constraint is built from the same rules its validator reads
(``configs/validators.yaml``), with these nodes, next to that validator. Two reasons for an
algebra instead of EBNF strings: the shortest and longest answer a grammar admits are computed,
not guessed, so tests can prove that every answer the grammar allows fits the validator's length
bounds and the domain's ``max_tokens`` (a token is at least one character); and repeated pieces
(the item line, the keyword alternatives) become one named rule, which matters because xgrammar
compiles each bounded repetition once per rule (~1 s for ``[^\\n]{20,120}`` on 2 cores) and the
engine caches compiled grammars by their text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

ConstraintKind = Literal["grammar", "json_schema", "regex"]


@dataclass(frozen=True, slots=True)
class Constraint:
    """What vLLM is asked to enforce for one attempt: an EBNF grammar or a JSON schema.

    ``min_chars``/``max_chars`` bound every answer the constraint admits (``None`` where the
    kind cannot say, e.g. a JSON number's digits). ``seeded_after`` is the text the grammar
    continues from (the assistant prefix already sent, "1."), empty when it starts the answer.
    """

    kind: ConstraintKind
    spec: str | dict[str, object]
    min_chars: int = 0
    max_chars: int | None = None
    seeded_after: str = ""


class Node:
    """A piece of grammar: renders to EBNF and knows the length range of what it matches."""

    def ebnf(self, rules: dict[str, str]) -> str:
        raise NotImplementedError

    @property
    def span(self) -> tuple[int, int]:
        """(shortest, longest) match, in characters."""
        raise NotImplementedError

    @property
    def shortest(self) -> int:
        return self.span[0]

    @property
    def longest(self) -> int:
        return self.span[1]


@dataclass(frozen=True, slots=True)
class Lit(Node):
    text: str

    def ebnf(self, rules: dict[str, str]) -> str:
        return json.dumps(self.text, ensure_ascii=False)

    @property
    def span(self) -> tuple[int, int]:
        return len(self.text), len(self.text)


@dataclass(frozen=True, slots=True)
class Line(Node):
    """One line of free text: a first character from ``first`` (a class body such as
    ``A-Za-z``, so an item always holds a word and never starts "1. 1."), then up to
    ``longest - 1`` characters that are not a line break (nor any of ``exclude``).

    ``not_prefix``: text the line may not start with, in any case (a resume tip that is the
    "ATS Keywords:" line). EBNF has no negative lookahead, so the line matches the prefix up to
    its first differing character, then the same free rest in every branch: one bounded
    repetition to compile, however long the prefix. Lines that do not start with the prefix's
    first letter are shorter by ``len(not_prefix) - 1`` at most; the span stays exact."""

    min_len: int
    max_len: int
    first: str = "A-Za-z"
    exclude: str = ""
    not_prefix: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.min_len <= self.max_len:
            raise ValueError(f"line bounds {self.min_len}..{self.max_len} admit no line")
        if self.max_len - len(self.not_prefix) < self.min_len - 1:
            raise ValueError(f"a line of {self.max_len} cannot exclude {self.not_prefix!r}")

    def ebnf(self, rules: dict[str, str]) -> str:
        free = f"[^\\n{self.exclude}]"
        if not self.not_prefix:
            body = f"[{self.first}] {free}{{{self.min_len - 1},{self.max_len - 1}}}"
            return _named(rules, body)
        prefix = self.not_prefix
        rest = _named(rules, f"{free}{{{self.min_len - 1},{self.max_len - len(prefix)}}}")
        # Innermost first: after prefix[:i] matched, either differ at prefix[i] or match it.
        tail = ""
        for i in range(len(prefix) - 1, -1, -1):
            cased = _cases(prefix[i])
            differ = (
                _class_minus(self.first, prefix[i].lower() + prefix[i].upper())
                if i == 0
                # after a space, no second one either ("ATS  Keywords" is the label too)
                else f"[^\\n{self.exclude}{cased}{_cases(' ') if prefix[i - 1] == ' ' else ''}]"
            )
            branch = f"{differ} {rest}"
            tail = branch if not tail else f"{branch} | [{cased}] ({tail})"
        return _named(rules, tail)

    @property
    def span(self) -> tuple[int, int]:
        return self.min_len, self.max_len


def _named(rules: dict[str, str], body: str) -> str:
    """The ``lineN`` rule for ``body``: one rule per distinct body, so the engine compiles each
    bounded repetition once."""
    for existing, rule in rules.items():
        if rule == body:
            return existing
    name = f"line{sum(n.startswith('line') for n in rules) + 1}"
    rules[name] = body
    return name


def _cases(char: str) -> str:
    """A class body matching ``char`` in any case (a space also as a tab)."""
    if char == " ":
        return " \\t"
    if not char.isalnum():
        raise ValueError(f"a prefix to exclude holds letters, digits and spaces, not {char!r}")
    return "".join(dict.fromkeys(char.lower() + char.upper()))


def _class_minus(body: str, chars: str) -> str:
    """The class ``[body]`` (ranges like ``A-Za-z0-9`` and plain letters or digits) without
    ``chars``, e.g. ``[B-Zb-z0-9]`` for ``A-Za-z0-9`` without ``aA``."""
    members: list[str] = []
    i = 0
    while i < len(body):
        if not body[i].isalnum():
            raise ValueError(f"only ranges of letters and digits are supported, not {body!r}")
        if i + 2 < len(body) and body[i + 1] == "-":
            members += [chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1)]
            i += 3
        else:
            members.append(body[i])
            i += 1
    runs: list[list[str]] = []
    for char in dict.fromkeys(m for m in members if m not in chars):
        if runs and ord(runs[-1][-1]) + 1 == ord(char):
            runs[-1].append(char)
        else:
            runs.append([char])
    return "[" + "".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs) + "]"


@dataclass(frozen=True, slots=True)
class Char(Node):
    """One character of a class body, e.g. ``1-9``."""

    body: str

    def ebnf(self, rules: dict[str, str]) -> str:
        return f"[{self.body}]"

    @property
    def span(self) -> tuple[int, int]:
        return 1, 1


@dataclass(frozen=True, slots=True)
class Seq(Node):
    parts: tuple[Node, ...]

    def ebnf(self, rules: dict[str, str]) -> str:
        return "(" + " ".join(part.ebnf(rules) for part in self.parts) + ")"

    @property
    def span(self) -> tuple[int, int]:
        # Each part's span once: reading .shortest and .longest separately recursed twice per
        # level, 2^depth work, and made building a list grammar ~10 ms a request.
        spans = [p.span for p in self.parts]
        return sum(lo for lo, _ in spans), sum(hi for _, hi in spans)


@dataclass(frozen=True, slots=True)
class Alt(Node):
    options: tuple[Node, ...]
    name: str | None = None  # render as one named rule (large alternations, reused)

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError("an alternation needs at least one option")

    def ebnf(self, rules: dict[str, str]) -> str:
        body = " | ".join(option.ebnf(rules) for option in self.options)
        if self.name is None:
            return f"({body})"
        rules[self.name] = body
        return self.name

    @property
    def span(self) -> tuple[int, int]:
        spans = [o.span for o in self.options]
        return min(lo for lo, _ in spans), max(hi for _, hi in spans)


@dataclass(frozen=True, slots=True)
class Opt(Node):
    inner: Node

    def ebnf(self, rules: dict[str, str]) -> str:
        return f"({self.inner.ebnf(rules)})?"

    @property
    def span(self) -> tuple[int, int]:
        return 0, self.inner.longest


def seq(*parts: Node | str) -> Seq:
    """A sequence; plain strings are literals."""
    return Seq(tuple(Lit(p) if isinstance(p, str) else p for p in parts))


def choice(words: Iterable[str], name: str | None = None) -> Alt:
    return Alt(tuple(Lit(word) for word in words), name)


def between(items: Sequence[Node], at_least: int) -> Node:
    """``items[0] .. items[at_least-1]`` always, then each further item only after the one
    before it: ``a b c (d (e)?)?``. Counting this way (not with ``{m,n}``) lets every item
    differ, e.g. carry its own number."""
    if not 0 <= at_least <= len(items):
        raise ValueError(f"need {at_least} of {len(items)} items")
    tail: Node | None = None
    for item in reversed(items[at_least:]):
        tail = Opt(item if tail is None else seq(item, tail))
    head = list(items[:at_least])
    return seq(*head, *([tail] if tail is not None else []))


def numbered(item: Node, at_least: int, at_most: int, *, after: str = "") -> Node:
    """``1. item`` / ``2. item`` ... one per line, numbered in order, ``at_least``..``at_most``
    items. ``after`` is the part of "1. " already in the answer (the seed sent as the assistant
    prefix): the grammar then continues from there, so seeding and the constraint compose."""
    first = "1. "
    if not first.startswith(after):
        raise ValueError(f"a numbered list cannot continue after {after!r}")
    lines = [seq(first[len(after) :], item)]
    lines += [seq(f"\n{number}. ", item) for number in range(2, at_most + 1)]
    return between(lines, at_least)


def bullets(item: Node, at_least: int, at_most: int) -> Node:
    """``- item`` lines (each after a line break), ``at_least``..``at_most`` of them."""
    return between([seq("\n- ", item)] * at_most, at_least)


def render(root: Node) -> str:
    """EBNF text for xgrammar (``root`` first, named rules after, in a stable order)."""
    rules: dict[str, str] = {}
    body = root.ebnf(rules)
    lines = [f"root ::= {body}"] + [f"{name} ::= {rule}" for name, rule in rules.items()]
    return "\n".join(lines) + "\n"


def grammar(root: Node, *, after: str = "") -> Constraint:
    """The constraint for ``root``, with the length range of the whole answer the user sees:
    the prefix already sent (``after``, e.g. "1.") followed by what the grammar matches."""
    return Constraint(
        "grammar",
        render(root),
        min_chars=len(after) + root.shortest,
        max_chars=len(after) + root.longest,
        seeded_after=after,
    )


def shortest_line(min_total: int, fixed: int, lines: int) -> int:
    """The shortest free line that still makes the shortest answer ``min_total`` characters:
    ``fixed`` characters of it are everything else, the rest is ``lines`` free lines. At least
    one character (the line's first letter)."""
    return max(1, -(-(min_total - fixed) // lines))

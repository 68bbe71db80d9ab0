"""The rank prompt's ``<evidence>`` block, kept within a token budget.

Unbounded, the block grew with the posting: one naming ~30 technologies rendered 2,048 tokens
and the whole rank prompt overflowed the model's context. ``render`` therefore keeps the block
within ``budget_tokens`` (``render_budget_tokens`` in configs/evidence.yaml) as counted by
``estimate_tokens``. A block that fits is rendered exactly as it was before the budget
existed: the SFT rows and the rank evaluation were built from that text, byte for byte.

A block that does not fit loses parts in this order, lowest priority first:

1. "Not checked" (requirements text cannot show; they never count against a candidate),
2. nice-to-have met, 3. nice-to-have missing, 4. must-have met (each list from its end),
5. the years line,
6. last, flags and missing must-haves: long flag details are shortened with an ellipsis,
   then both lists are cut, always the longer one first, so each keeps an item while it can.

Why this order: the guards (validators/guards.py) act on exactly two things, a missing
must-have (reject with a capped score) and an integrity flag (status "verify"). The model
must see what the guards will enforce, or its own reasons argue against the final answer, so
those go last; the years come next because the rubric weighs them against what is asked.
Every cut list ends with "(+N more)", so the model still reads that the list was longer:
``Nice-to-have met: Python, SQL (+12 more)``.

>>> from validators.evidence import Evidence, Flag, Requirement
>>> tools = "Python SQL Excel Tableau Looker Airflow Spark dbt Kafka Go Rust Docker Terraform Figma"
>>> nice = tuple(Requirement(name, True) for name in tools.split())
>>> must = (Requirement("SQL", True), Requirement("Power BI", False))
>>> flag = Flag("overlapping_roles", "full-time roles 2017-2026 and 2018-2021 overlap 36 months")
>>> print(render(Evidence(must, nice, 4.0, 3, (flag,), "text"), budget_tokens=128))
... # doctest: +NORMALIZE_WHITESPACE
Must-have met: SQL; missing: Power BI. Nice-to-have met: Python (+13 more); missing: none.
Years: 4 of 3 required (meets). Flags: overlapping_roles (full-time roles 2017-2026 and
2018-2021 overlap 36 months).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # evidence.py re-exports render: a runtime import would be circular
    from hrstack.validators.evidence import Evidence

__all__ = ["estimate_tokens", "render"]

#: Shortened flag details keep this many characters: enough for the numbers and the names
#: a detail holds ("full-time roles 2017-2026 and 2018-2021 overlap 36 months" is 57).
DETAIL_CHARS = 60

_PIECES = re.compile(r"[a-z]+|\s+|.", re.DOTALL)


def estimate_tokens(text: str) -> int:
    """An over-estimate of ``text``'s token count under a byte-level BPE tokenizer (SmolLM2,
    Qwen2.5), without loading one: validators stay pure and tokenizer-free.

    Counted: a run of lower-case ASCII letters, one token per 2.5 letters (rounded up);
    every capital, digit and punctuation mark, one (acronyms like "SHRM" and numbers split
    into single characters); any other character, one per UTF-8 byte (a byte-level token
    never covers less than a byte); a space, none before a letter (" Python" is one token)
    and one elsewhere (" 2006" starts with a lone space). Measured against SmolLM2's
    and Qwen2.5's tokenizers (tests/unit/validators/test_evidence_budget.py): every name in
    the synonym and release-year tables on its own, and 1.5-2.2x on whole blocks.

    >>> estimate_tokens("Years: 4 of 3 required.")
    14
    """
    total = 0
    for match in _PIECES.finditer(text):
        piece = match.group()
        if piece.isspace():
            after = text[match.end() : match.end() + 1]
            total += 0 if after.isascii() and after.isalpha() else 1
        elif piece.isascii() and piece.islower():
            total += math.ceil(len(piece) / 2.5)
        else:
            total += len(piece.encode("utf-8"))
    return total


class _Listing(NamedTuple):
    """The items of one list still shown, and how many were left out."""

    items: tuple[str, ...]
    hidden: int = 0

    def cut(self, k: int) -> _Listing:
        return _Listing(self.items[: len(self.items) - k], self.hidden + k)

    def text(self, separator: str = ", ") -> str:
        more = f"(+{self.hidden} more)" if self.hidden else ""
        return " ".join(p for p in (separator.join(self.items), more) if p) or "none"


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the block shows; ``must`` and ``nice``: whether the posting has such a section."""

    lists: Mapping[str, _Listing]
    must: bool
    nice: bool
    years: str | None

    def with_cut(self, name: str, k: int) -> _Layout:
        return replace(self, lists={**self.lists, name: self.lists[name].cut(k)})


def _years(value: float | None) -> str:
    if value is None:
        return "unknown"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _flags(evidence: Evidence, detail_chars: int | None = None) -> _Listing:
    def detail(text: str) -> str:
        if detail_chars is None or len(text) <= detail_chars:
            return text
        return text[: detail_chars - 1].rstrip() + "…"

    return _Listing(tuple(f"{f.kind} ({detail(f.detail)})" for f in evidence.flags))


def _compared(relevant: float | None, required: int | None) -> str:
    """ " of 7 required (falls short)": the comparison stated in the words the gold reason
    uses ("3 years falls short of the 7+ years asked", training/rank_pairs.py), so a model
    copies it instead of computing it. Shown only the numbers, the fine-tuned 0.5B wrote
    "3 years meets the 7+ years asked" from "Years: 3 of 7 required" and shortlisted."""
    if required is None:
        return ""
    if relevant is None:
        return f" of {required} required"
    return f" of {required} required ({'meets' if relevant >= required else 'falls short'})"


def _layout(evidence: Evidence) -> _Layout:
    asked = _compared(evidence.years_relevant, evidence.years_required)
    lists = {
        "must_met": evidence.must_have_met,
        "must_missing": evidence.must_have_missing,
        "nice_met": evidence.nice_to_have_met,
        "nice_missing": evidence.nice_to_have_missing,
        "unchecked": evidence.unchecked,
    }
    return _Layout(
        {**{name: _Listing(items) for name, items in lists.items()}, "flags": _flags(evidence)},
        must=bool(evidence.must_have),
        nice=bool(evidence.nice_to_have),
        years=f"Years: {_years(evidence.years_relevant)}{asked}.",
    )


def _compose(layout: _Layout) -> str:
    lists = layout.lists
    parts = []
    if layout.must:
        met, missing = lists["must_met"].text(), lists["must_missing"].text()
        parts.append(f"Must-have met: {met}; missing: {missing}.")
    if layout.nice:
        met, missing = lists["nice_met"].text(), lists["nice_missing"].text()
        parts.append(f"Nice-to-have met: {met}; missing: {missing}.")
    if lists["unchecked"] != _Listing(()):
        parts.append(f"Not checked: {lists['unchecked'].text()}.")
    if layout.years is not None:
        parts.append(layout.years)
    parts.append(f"Flags: {lists['flags'].text('; ')}.")
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def _balanced(layout: _Layout, k: int) -> _Layout:
    """``k`` items left out of flags and missing must-haves together, each from the longer of
    the two (flags on a tie): both keep an item for as long as they can."""
    flags, missing = len(layout.lists["flags"].items), len(layout.lists["must_missing"].items)
    for _ in range(k):
        if flags >= missing:
            flags -= 1
        else:
            missing -= 1
    cut = layout.with_cut("flags", len(layout.lists["flags"].items) - flags)
    return cut.with_cut("must_missing", len(layout.lists["must_missing"].items) - missing)


def _least_cut(
    size: int, cut: Callable[[int], _Layout], fits: Callable[[_Layout], bool]
) -> _Layout:
    """The layout after the fewest of ``size`` steps that fits (all of them if none does),
    by bisection: cutting more never lengthens the block (but for a digit of "(+N more)")."""
    if not fits(cut(size)):
        return cut(size)
    short, enough = 0, size  # the caller found that cut(0), the layout as it is, does not fit
    while enough - short > 1:
        middle = (short + enough) // 2
        if fits(cut(middle)):
            enough = middle
        else:
            short = middle
    return cut(enough)


def render(evidence: Evidence, *, budget_tokens: int | None = None) -> str:
    """The prompt's evidence block: short, fixed wording, same input -> same text; within
    ``budget_tokens`` (by ``estimate_tokens``) when given, cut in the module's priority
    order. Only when even the fixed wording of a fully cut block exceeds the budget is the
    result longer: EvidenceRules keeps the configured budget well above that."""
    layout = _layout(evidence)
    if budget_tokens is None:
        return _compose(layout)

    def fits(candidate: _Layout) -> bool:
        return estimate_tokens(_compose(candidate)) <= budget_tokens

    for name in ("unchecked", "nice_met", "nice_missing", "must_met"):
        if fits(layout):
            return _compose(layout)
        size = len(layout.lists[name].items)
        layout = _least_cut(size, partial(_Layout.with_cut, layout, name), fits)
    if not fits(layout):
        layout = replace(layout, years=None)
    if not fits(layout):
        layout = replace(layout, lists={**layout.lists, "flags": _flags(evidence, DETAIL_CHARS)})
    if not fits(layout):
        size = len(layout.lists["flags"].items) + len(layout.lists["must_missing"].items)
        layout = _least_cut(size, partial(_balanced, layout), fits)
    return _compose(layout)

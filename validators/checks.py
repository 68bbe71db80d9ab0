"""Check builders that several domains share, so a rule reads the same in every report.

The numbered-list rules exist because of a production failure: a model emitting "1. 1. 1. 1."
or the same tip five times looked like a list to a count-only check. Here a list must start at
1, count up without gaps, and hold distinct items that contain words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hrstack.validators.base import Check
from hrstack.validators.lists import NumberedList, has_letter, item_key

_WORD = re.compile(r"[^\W_]+")

NUMBERED_LIST_CHECKS = (
    "numbered_list",
    "items_in_order",
    "min_items",
    "items_non_empty",
    "items_distinct",
)


def skipped(name: str, reason: str) -> Check:
    """A failed placeholder for a check that could not run, so every report lists every name."""
    return Check(name, False, f"skipped: {reason}")


def length_check(text: str, min_chars: int, max_chars: int) -> Check:
    """Bound the answer's size; surrounding whitespace does not count towards it."""
    size = len(text.strip())
    ok = min_chars <= size <= max_chars
    return Check("length", ok, f"{size} chars (allowed {min_chars}..{max_chars})")


def numbered_list_checks(
    parsed: NumberedList, min_items: int, count_name: str = "min_items", noun: str = "items"
) -> list[Check]:
    """The five checks named in ``NUMBERED_LIST_CHECKS``, in that order.

    ``count_name`` renames the count check where the domain counts something more specific
    (ATS lists count keywords).
    """
    names = (*NUMBERED_LIST_CHECKS[:2], count_name, *NUMBERED_LIST_CHECKS[3:])
    if not parsed.numbers:
        why = "no numbered list (lines like '1. ...')"
        return [Check("numbered_list", False, why)] + [skipped(name, why) for name in names[1:]]
    first = parsed.numbers[0]
    count = len(parsed.numbers)
    return [
        Check(
            "numbered_list",
            first == 1,
            f"list starts at {first}" + ("" if first == 1 else "; it must start at 1"),
        ),
        _in_order(parsed.numbers),
        Check(count_name, count >= min_items, f"{count} {noun} (need at least {min_items})"),
        _non_empty(parsed.items),
        distinct_check(parsed.items, "items_distinct", "item"),
    ]


def _in_order(numbers: tuple[int, ...]) -> Check:
    count = len(numbers)
    if numbers == tuple(range(1, count + 1)):
        return Check("items_in_order", True, f"numbered 1..{count}")
    position, number = next((p, n) for p, n in enumerate(numbers, start=1) if n != p)
    return Check(
        "items_in_order", False, f"item {position} is numbered {number}; expected 1, 2, 3..."
    )


def _non_empty(items: tuple[str, ...]) -> Check:
    for position, item in enumerate(items, start=1):
        if not has_letter(item):
            return Check("items_non_empty", False, f"item {position} has no words: {item!r:.60}")
    return Check("items_non_empty", True, "every item has text")


def distinct_check(items: Sequence[str], name: str, noun: str) -> Check:
    """No two of ``items`` the same (case, spacing, emphasis and edge punctuation aside): a
    repeated step, bullet or reason pads a count without saying anything new."""
    first_seen: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        earlier = first_seen.setdefault(item_key(item), position)
        if earlier != position:
            detail = f"{noun} {position} repeats {noun} {earlier}: {item!r:.60}"
            return Check(name, False, detail)
    return Check(name, True, f"{len(items)} distinct {noun}s")


def collapse_spaces(text: str) -> str:
    """Line breaks and tabs to spaces, runs of spaces to one. str.replace, not split/join or a
    regex: the inputs can be pages long and this runs on every call (5x faster on a resume)."""
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text.strip()


def occurs_as_word(term: str, haystack: str) -> bool:
    """``term`` in ``haystack`` with no letter or digit either side ("5" is not in "2025")."""
    start = haystack.find(term)
    while start >= 0:
        end = start + len(term)
        if (start == 0 or not haystack[start - 1].isalnum()) and (
            end == len(haystack) or not haystack[end].isalnum()
        ):
            return True
        start = haystack.find(term, start + 1)
    return False


def specific_words(text: str, generic: frozenset[str], min_letters: int = 4) -> list[str]:
    """Casefolded words of ``text`` that could tie it to one job or person.

    Words of ``min_letters``+ letters count ("tableau"), and so do short names and numbers
    ("Go", "AWS", "5"); lowercase short words and the configured generic vocabulary
    ("candidate", "experience") say nothing about which inputs a sentence is about.
    """
    words = []
    for raw in _WORD.findall(text):
        word = raw.casefold()
        if word not in generic and (len(word) >= min_letters or not raw.islower()):
            words.append(word)
    return words

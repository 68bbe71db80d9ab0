"""Parsers for the shapes model answers come in: numbered lists, bullets and headed sections.

Every domain reads structure through these, so "what counts as an item" has one definition for
serving, evaluation and rewards. They are regex-driven and total: any string parses to something
(possibly empty), because model output is arbitrary text and a validator must never raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# "12. text" or "12) text". The (?!\d) keeps "1.5 years" from reading as item 1. Three digits at
# most, so a year at the start of a line ("2024. A year of...") is not an item either.
_NUMBERED = re.compile(r"([ \t]*+)(\d{1,3})[.)](?!\d)[ \t]*+(.*)")
_BULLET = re.compile(r"[ \t]*+(?:[-*•+–▪◦]|\d{1,3}[.)](?!\d))[ \t]++(\S.*)")
# A whole-line heading: optional markdown "#", optional bold, a short name, optional colon.
# Every quantifier is possessive (*+, {}+): a prose line or thousands of spaces must fail in one
# pass instead of backtracking. The name therefore swallows trailing spaces and "__", which
# heading_key strips.
_HEADING = re.compile(
    r"[ \t]*+(#{1,6}+[ \t]*+)?(\*\*|__)?[ \t]*+([^\W\d_][^:*#\n]{0,60}+)"
    r"(?:\*\*)?[ \t]*+:?[ \t]*+(?:\*\*|__)?[ \t]*+"
)
# "Label: inline text" -- a heading that carries its content on the same line.
_LABEL = re.compile(r"[ \t]*+(?:\*\*|__)?[ \t]*+([^\W\d_][^:*#\n]{0,60}+)(?:\*\*)?[ \t]*+:")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W_]+")
_HEADING_SPACES = re.compile(r"[\s\-]+")
_EDGE_PUNCTUATION = " .,;:!?-–—\"'“”‘’()[]"


@dataclass(frozen=True, slots=True)
class NumberedList:
    """The top-level numbered items of an answer, in the order they appear.

    ``numbers`` keeps what the model wrote (so "1. 1. 1." stays visible as 1, 1, 1) and
    ``items`` the text after each number, stripped; both have the same length.
    """

    numbers: tuple[int, ...]
    items: tuple[str, ...]


def numbered_list(text: str) -> NumberedList:
    """Collect the numbered items of ``text``; text before the list is allowed and ignored.

    The first numbered line fixes the list's indentation; deeper-indented lines (numbered or
    not) continue the current item, so markdown sub-lists do not break the numbering. A
    non-indented, non-numbered line ends the current item (e.g. an "ATS Keywords:" line after
    the list is not part of item 5).
    """
    numbers: list[int] = []
    parts: list[list[str]] = []  # joined once at the end: no quadratic string building
    indent = -1
    item_open = False
    for line in text.splitlines():
        match = _NUMBERED.fullmatch(line)
        if match is not None and (indent < 0 or len(match.group(1)) <= indent):
            if indent < 0:
                indent = len(match.group(1))
            numbers.append(int(match.group(2)))
            parts.append([match.group(3).strip()])
            item_open = True
            continue
        stripped = line.strip()
        if not item_open or not stripped:
            continue
        if line[0] in " \t":
            parts[-1].append(stripped)
        else:
            item_open = False
    items = tuple(p[0] if len(p) == 1 else " ".join(filter(None, p)) for p in parts)
    return NumberedList(tuple(numbers), items)


def has_letter(text: str) -> bool:
    """True when ``text`` holds a letter: "1. 1. 1." or "-" is not content, "5G" is."""
    return _LETTER.search(text) is not None


def item_key(text: str) -> str:
    """A comparison key for "the same item": case, spacing, markdown emphasis and edge
    punctuation do not count. (str methods, not a regex: this runs once per item per call.)"""
    folded = text.casefold().replace("*", "").replace("`", "").replace("_", "")
    return " ".join(folded.split()).strip(_EDGE_PUNCTUATION)


def heading_key(name: str) -> str:
    """Normalise a heading so "What You’ll Do", "what you'll do" and "What-you'll-do" agree."""
    folded = name.casefold().replace("’", "'").replace("&", " and ").rstrip(" \t_")
    return _HEADING_SPACES.sub(" ", folded).strip()


def heading_aliases(groups: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Turn {canonical: (variant, ...)} into {normalised variant: canonical} for lookups."""
    return {heading_key(variant): canonical for canonical, vs in groups.items() for variant in vs}


def bullet_sections(text: str, aliases: Mapping[str, str]) -> dict[str, list[str]]:
    """Group bullets under the known headings they follow: {canonical heading: [bullet text]}.

    A heading is a line that is only a name (markdown ``#``, bold and a trailing colon allowed)
    or "Name: inline text"; only names in ``aliases`` open a section. An unknown ``#`` or bold
    heading ("## Our Team") closes the open section, so its bullets are not credited to the
    section above it. Plain prose lines neither open nor close a section. A heading seen twice
    keeps adding to the same list. Bullets without a letter or digit are not counted.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        body = bullet_text(line)
        if body is not None:
            if current is not None and _WORD.search(body) is not None:
                current.append(body)
            continue
        heading = _HEADING.fullmatch(line)
        if heading is not None:
            canonical = aliases.get(heading_key(heading.group(3)))
            if canonical is not None:
                current = sections.setdefault(canonical, [])
            elif heading.group(1) or heading.group(2):
                current = None
            continue
        label = _LABEL.match(line)
        if label is not None:
            canonical = aliases.get(heading_key(label.group(1)))
            if canonical is not None:
                current = sections.setdefault(canonical, [])
    return sections


def bullet_text(line: str) -> str | None:
    """The text of a bullet or numbered line ("- Python" -> "Python"), else None."""
    bullet = _BULLET.fullmatch(line)
    return None if bullet is None else bullet.group(1).strip()

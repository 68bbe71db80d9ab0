"""Terms and dates as the evidence extractor reads them: spellings, whole-word search, months.

A skill is one thing under many spellings (JS, JavaScript; k8s, Kubernetes), so every search
goes through the synonym table of ``configs/evidence.yaml``; dates are counted in months so
that year-only and year-month ranges can be merged and compared with one arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from hrstack.validators.evidence_rules import EvidenceRules

_MONTHS = {
    name: index
    for index, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DATE = (
    r"(?:[A-Za-z]{3,9}\.?\s+)?(?:19|20)\d{2}(?:[-/.](?:0?[1-9]|1[0-2])(?!\d))?"
    r"|(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}"
)
_NOW = r"present|current|now|today|ongoing"
#: "2019-22": an end year in two digits, in the start's century (a CV's short form).
RANGE = re.compile(
    rf"(?P<start>{_DATE})\s*(?:-|–|—|to|until|through)\s*(?P<end>{_DATE}|{_NOW}|\d{{2}}(?![\d/.-]))",
    re.IGNORECASE,
)


def range_months(start: str, end: str, today: date) -> tuple[int | None, int | None]:
    """A RANGE match's (start, end) as months; a two-digit end year takes the start's century
    ("2019-22" ends in 2022)."""
    first = month_of(start, today)
    if re.fullmatch(r"\d{2}", end.strip()):
        century = re.search(r"(19|20)\d{2}", start)
        if first is None or century is None:
            return first, None
        return first, int(century[1] + end.strip()) * 12
    return first, month_of(end, today)


def month_of(text: str, today: date) -> int | None:
    """A date as months since year 0 (January for a bare year); None if it is not a date."""
    value = text.strip().casefold()
    if re.fullmatch(_NOW, value):
        return today.year * 12 + today.month - 1
    if m := re.fullmatch(r"(0?[1-9]|1[0-2])/((?:19|20)\d{2})", value):
        return int(m[2]) * 12 + int(m[1]) - 1
    if m := re.fullmatch(r"((?:19|20)\d{2})(?:[-/.](\d{1,2}))?", value):
        month = int(m[2]) if m[2] else 1
        return int(m[1]) * 12 + month - 1 if 1 <= month <= 12 else None
    if m := re.fullmatch(r"([a-z]{3,9})\.?\s+((?:19|20)\d{2})", value):
        named = _MONTHS.get(m[1][:3])
        return int(m[2]) * 12 + named - 1 if named else None
    return None


def has_word(words: frozenset[str], text: str) -> bool:
    """Whether ``text`` holds any of ``words`` (casefolded phrases) as whole words."""
    folded = " ".join(text.casefold().split())
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", folded) for w in words)


def merged_months(spans: list[tuple[int, int]]) -> int:
    """Months covered by the spans, each counted once however many roles overlap it."""
    total, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The synonym table compiled: display name of an alias, and one pattern per thing."""

    canonical: dict[str, str]  # casefolded alias -> display name
    patterns: dict[str, re.Pattern[str]]  # display name -> any of its spellings, whole words

    def name_of(self, phrase: str) -> str | None:
        return self.canonical.get(" ".join(phrase.casefold().split()))

    def pattern(self, phrase: str) -> re.Pattern[str]:
        """Any spelling of ``phrase`` (or the phrase itself when the table does not know it)."""
        name = self.name_of(phrase)
        return self.patterns[name] if name else word_pattern((phrase,), frozenset())

    def known_in(self, text: str) -> list[str]:
        """Display names of the known things ``text`` mentions, in table order."""
        return [name for name, pattern in self.patterns.items() if pattern.search(text)]


def word_pattern(spellings: tuple[str, ...], case_sensitive: frozenset[str]) -> re.Pattern[str]:
    """Any of ``spellings`` where it stands as a name of its own, as the evidence reader finds
    it ("Go" is not in "Google", "Node.js" is not "Node")."""
    parts = []
    for spelling in sorted(spellings, key=len, reverse=True):
        body = re.escape(spelling.strip()).replace(r"\ ", r"\s+")
        parts.append(body if spelling in case_sensitive else f"(?i:{body})")
    return re.compile(rf"(?<![\w/])(?:{'|'.join(parts)})(?![\w/]|\.\w)")


def vocabulary(rules: EvidenceRules) -> Vocabulary:
    """The rules' synonym table, plus every release-year technology as a thing of its own."""
    return _compiled(rules.synonyms, rules.case_sensitive, tuple(rules.release_years))


@lru_cache(maxsize=8)
def _compiled(
    synonyms: tuple[tuple[str, ...], ...], case_sensitive: frozenset[str], techs: tuple[str, ...]
) -> Vocabulary:
    rows = list(synonyms)
    listed = {alias.casefold() for row in rows for alias in row}
    rows += [(tech,) for tech in techs if tech.casefold() not in listed]
    canonical = {" ".join(alias.casefold().split()): row[0] for row in rows for alias in row}
    patterns = {row[0]: word_pattern(row, case_sensitive) for row in rows}
    return Vocabulary(canonical, patterns)

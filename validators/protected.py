"""Finding words that name a protected attribute (gender, age, religion, ...) in a text.

One definition for two uses: the rank and match validators fail reasons that cite one, and the
gateway redacts the same words from candidate text before rank and match (tasks.redaction). The
vocabulary is data (``protected_terms`` in ``configs/validators.yaml``), matched as whole words
in any case, phrases across any whitespace; a hyphenated compound is one word ("man-hours" does
not mention "man"), and a placeholder such as ``[AGE]`` is not a mention of "age".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from hrstack.validators.base import Check

Terms = Mapping[str, frozenset[str]]


@lru_cache(maxsize=16)
def _compiled(
    terms: tuple[tuple[str, frozenset[str]], ...], any_case: bool
) -> tuple[re.Pattern[str], dict[str, str]]:
    category_of = {term: category for category, words in terms for term in words}
    alternatives = sorted(category_of, key=len, reverse=True)  # "years old" before "old"
    body = "|".join(re.escape(term).replace(r"\ ", r"\s+") for term in alternatives)
    flags = re.IGNORECASE if any_case else 0
    return re.compile(rf"(?<![\w\[-])(?:{body})(?![\w\]-])", flags), category_of


def protected_matcher(
    terms: Terms, *, any_case: bool = True
) -> tuple[re.Pattern[str], dict[str, str]]:
    """One compiled pattern over every term, and normalised term -> category; cached.
    ``any_case=False`` is for text already case-folded (a third faster: it runs per reason)."""
    return _compiled(tuple(terms.items()), any_case)


def term_of(matched: str) -> str:
    """The vocabulary form of a match: case-folded, whitespace collapsed."""
    return " ".join(matched.casefold().split())


def protected_mentions(text: str, terms: Terms) -> list[tuple[str, str]]:
    """(category, term) for each protected term ``text`` uses, in order of first use.

    >>> protected_mentions("She knows SQL", {"gender": frozenset({"she"})})
    [('gender', 'she')]
    """
    if not terms:
        return []
    pattern, category_of = protected_matcher(terms, any_case=False)
    found = dict.fromkeys(term_of(m[0]) for m in pattern.finditer(text.casefold()))
    return [(category_of[term], term) for term in found]


def no_protected_check(name: str, noun: str, texts: list[str], terms: Terms) -> Check:
    """Fails on the first of ``texts`` (each one ``noun``, 1-based) that names a protected
    attribute: a hiring decision may not rest on one, whatever the model was shown."""
    for position, text in enumerate(texts, start=1):
        mentions = protected_mentions(text, terms)
        if mentions:
            shown = ", ".join(f"{category} ({term!r})" for category, term in mentions)
            return Check(name, False, f"{noun} {position} mentions {shown:.120}")
    return Check(name, True, f"no {noun} mentions a protected attribute")

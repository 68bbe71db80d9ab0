"""Removing protected attributes from candidate text before the model ranks it.

What the model never reads cannot weigh in its decision: names (which carry gender and
ethnicity), contact details and URLs, date of birth and age, and the words of the protected
vocabulary (gender and pronouns, marital status, nationality, religion, ...) are replaced by
placeholders such as ``[NAME]``. The vocabulary is the rank validator's ``protected_terms``
(configs/validators.yaml), so what is redacted and what a reason may not cite are one list.

The map from placeholder back to text stays in this process: it is not in the prompt, and it
reaches the response only when the client asks (``?include_redactions=true``). The job
description is the employer's text and is not redacted.

Heuristics, not NER: a name is found from a ``Name:`` label, "my name is", a courtesy title, or
the two to four capitalised words a resume opens with (unless the posting uses them: "Data
Engineer" is a title, not a person); then every later use of those words goes too. A name in an
unusual place can survive; the validator's grounding check still fails a reason that cites it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hrstack.validators.protected import protected_matcher, term_of

#: Categories ``redact_categories`` accepts (this module says what each one covers).
REDACTION_CATEGORIES = (
    "name",
    "contact",
    "url",
    "age",
    "gender",
    "marital_status",
    "nationality",
    "religion",
    "race_ethnicity",
    "disability",
)


_I = re.IGNORECASE
_NAME_WORD = r"[A-Z][a-zA-Z'’-]+"
#: Category -> (placeholder, patterns); applied in this order, contact details first because
#: emails and URLs contain names.
PATTERNS: dict[str, tuple[str, tuple[re.Pattern[str], ...]]] = {
    "url": ("[URL]", (re.compile(
        r"\bhttps?://\S+|\bwww\.\S+|\b(?:linkedin|github|gitlab|twitter|x|facebook|instagram)"
        r"\.com/\S+", _I),)),
    "contact": ("[CONTACT]", (
        re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
        re.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){8,14}(?!\w)"),
        re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|"
                   r"Drive|Dr|Boulevard|Blvd|Way|Court|Ct)\b\.?"),
    )),
    "age": ("[AGE]", (
        re.compile(r"\b(?:date of birth|d\.?o\.?b\.?|born(?: on| in)?)\s*[:\-]?\s*(?:\d{1,4}"
                   r"[./ -]\d{1,2}[./ -]\d{2,4}|\d{1,2}\s+[A-Z][a-z]+\s+\d{4}|[A-Z][a-z]+\s+"
                   r"\d{1,2},?\s+\d{4}|\d{4})", _I),
        re.compile(r"\b(?:age|aged)\s*[:\-]?\s*\d{2}\b|\b\d{2}[\s-]*(?:years?|yrs?)[\s-]*old\b",
                   _I),
    )),
}  # fmt: skip
_LABELS = {
    "gender": r"gender|sex|pronouns",
    "marital_status": r"marital status|family status",
    "nationality": r"nationality|citizenship|national origin",
    "religion": r"religion|faith",
    "race_ethnicity": r"race|ethnicity",
}
_NAME_LABEL = re.compile(
    rf"(?:^[ \t]*(?:full\s+)?name\s*:|\bmy name is)[ \t]*((?:{_NAME_WORD}[ \t]?){{1,4}})", _I | re.M
)
_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+((?:{_NAME_WORD}\s?){{1,3}})")
_OPENING = re.compile(rf"\A\s*((?:{_NAME_WORD}|[A-Z]\.)(?:[ \t]+(?:{_NAME_WORD}|[A-Z]\.)){{1,3}})"
                      r"\s*(?:[.,|\n–-]|\Z)")  # fmt: skip
#: Words that open a resume but are not names.
_NOT_NAMES = frozenset(
    {"resume", "cv", "curriculum", "vitae", "profile", "summary", "senior", "junior", "lead",
     "principal", "staff", "engineer", "developer", "analyst", "manager", "director", "designer",
     "nurse", "teacher", "consultant", "specialist", "data", "software", "product", "project",
     "sales", "marketing"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Redaction:
    category: str
    placeholder: str
    original: str


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    items: tuple[Redaction, ...]

    def counts(self) -> dict[str, int]:
        return dict(Counter(item.category for item in self.items))


class Redactor:
    """Redacts the configured categories; ``terms`` is the protected vocabulary by category."""

    def __init__(self, categories: Iterable[str], terms: Mapping[str, frozenset[str]]) -> None:
        self.categories = frozenset(categories)
        self._terms = {c: words for c, words in terms.items() if c in self.categories}
        self._labels = {
            category: re.compile(rf"(?<!\[)\b(?:{label})\s*:\s*[^\n.;,]+", _I)
            for category, label in _LABELS.items()
            if category in self.categories
        }

    @property
    def enabled(self) -> bool:
        return bool(self.categories)

    def redact(self, text: str, posting: str = "") -> Redacted:
        """``text`` with protected spans replaced; ``posting`` tells titles from names."""
        items: list[Redaction] = []

        def sub(category: str, placeholder: str, pattern: re.Pattern[str], value: str) -> str:
            def record(match: re.Match[str]) -> str:
                items.append(Redaction(category, placeholder, match[0]))
                return placeholder

            return pattern.sub(record, value)

        for category, (placeholder, patterns) in PATTERNS.items():
            if category in self.categories:
                for pattern in patterns:
                    text = sub(category, placeholder, pattern, text)
        if "name" in self.categories:
            names = _name_words(text, posting)
            if names:
                pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
                text = sub("name", "[NAME]", pattern, text)
        for category, pattern in self._labels.items():
            text = sub(category, f"[{category.upper()}]", pattern, text)
        if self._terms:
            text = self._vocabulary(text, items)
        return Redacted(text, tuple(items))

    def _vocabulary(self, text: str, items: list[Redaction]) -> str:
        """The protected words themselves, with the rank validator's own matcher."""
        pattern, category_of = protected_matcher(self._terms)

        def record(match: re.Match[str]) -> str:
            category = category_of[term_of(match[0])]
            items.append(Redaction(category, f"[{category.upper()}]", match[0]))
            return f"[{category.upper()}]"

        return pattern.sub(record, text)


def _name_words(text: str, posting: str) -> list[str]:
    """The words of the candidate's name, found where resumes put it; longest first."""
    posting_words = {w.casefold() for w in re.findall(r"[\w'’-]+", posting)}

    def is_name(word: str) -> bool:
        key = word.casefold()
        return len(word) > 1 and key not in _NOT_NAMES and key not in posting_words

    found = [m[1] for m in (*_NAME_LABEL.finditer(text), *_TITLE.finditer(text))]
    opening = _OPENING.match(text)
    # An opening line with a job word in it is a title ("Backend Data Engineer"), not a name.
    if opening and all(is_name(word.strip(".")) for word in opening[1].split()):
        found.append(opening[1])
    words = {word.strip(".") for phrase in found for word in phrase.split()}
    # The _I flag of the label pattern can capture lowercase words after the name; drop them.
    return sorted((w for w in words if w[:1].isupper() and is_name(w)), key=len, reverse=True)

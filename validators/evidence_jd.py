"""Reading a job description's requirements: must-haves, nice-to-haves and years asked.

Postings put requirements under headings ("Requirements:", "Nice to have:") as bullets or as
one inline list ("Requirements: 3+ years of SQL, Tableau, Excel."). A heading opens a section
that lasts until the next heading; only must-have and nice-to-have sections yield requirements,
so a skill named among the duties is not mistaken for one the job demands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from validators.evidence_rules import EvidenceRules
from validators.evidence_terms import Vocabulary

_BULLET = re.compile(r"^\s*(?:[-*•·▪‣]|\d{1,2}[.)])\s+")
_LABEL = re.compile(r"^\s*#*\s*([A-Za-z][A-Za-z /&'-]{0,40}?)\s*:\s*(.*)$")
_SENTENCES = re.compile(r"(?<=[a-z0-9)%])\.(?:\s+|$)|[;\n]")
#: Years as real postings write them: "5+ years", "3-5 yrs", "3–5 years", "at least five
#: years", "minimum of 2 years", "5 or more years", "two to three years".
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip
_NUMBER = r"(\d{1,2}|" + "|".join(_NUMBERS) + r")"
_YEARS = re.compile(
    r"^(?:at least |a minimum of |minimum (?:of )?|min\.? )?"
    + _NUMBER
    + r"\s*\+?\s*(?:(?:[-–—]|to)\s*(?:\d{1,2}|"
    + "|".join(_NUMBERS)
    + r")\s*\+?\s*)?"
    r"(?:or more\s+)?(?:years?|yrs?)\b"
    r"(?:\s+of)?(?:\s+(?:professional|relevant|hands-on|industry|work))?\s*",
    re.IGNORECASE,
)


def _years_of(number: str) -> int:
    return int(number) if number.isdigit() else _NUMBERS[number.casefold()]


@dataclass(frozen=True, slots=True)
class Wanted:
    """One requirement as written: its alternatives ("Tableau or Power BI") and if checkable."""

    name: str
    alternatives: tuple[str, ...]
    checkable: bool


@dataclass(frozen=True, slots=True)
class JobRequirements:
    must_have: tuple[Wanted, ...]
    nice_to_have: tuple[Wanted, ...]
    years_required: int | None
    title: str


def parse_job(text: str, rules: EvidenceRules, vocab: Vocabulary) -> JobRequirements:
    """Requirements by section; the first line (up to " at " or "(") is taken as the title."""
    sections: dict[str, list[str]] = {"must": [], "nice": []}
    for section, line in _section_lines(text, rules):
        if section in sections:
            sections[section].append(line)
    years: list[int] = []
    must = _requirements(sections["must"], rules, vocab, years)
    nice = _requirements(sections["nice"], rules, vocab, [])
    first = next((line for line in text.splitlines() if line.strip()), "")
    title = re.split(r"\s+at\s+|\(|\.|,|\s+-\s+", first.strip(), maxsplit=1)[0]
    return JobRequirements(must, nice, max(years) if years else None, title)


def _heading(label: str, rules: EvidenceRules) -> str | None:
    key = " ".join(label.casefold().replace("’", "'").split())
    if key in rules.must_have_headings:
        return "must"
    if key in rules.nice_to_have_headings:
        return "nice"
    return None


def _section_lines(text: str, rules: EvidenceRules) -> list[tuple[str, str]]:
    """(section, content) for each line or inline part; known headings may start mid-line."""
    known = sorted(rules.must_have_headings | rules.nice_to_have_headings, key=len, reverse=True)
    inline = re.compile(
        r"(?:^|(?<=[.!?]\s))\s*(" + "|".join(map(re.escape, known)) + r")\s*:", re.I | re.M
    )
    out: list[tuple[str, str]] = []
    section = "other"
    for raw in text.replace("’", "'").splitlines():
        parts = inline.split(raw)  # [before, heading, after, heading, after, ...]
        pieces = [(None, parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
        for heading, content in pieces:
            if heading is not None:
                section = _heading(heading, rules) or "other"
            elif (label := _LABEL.match(content)) and len(label[1].split()) <= 4:
                section = _heading(label[1], rules) or "other"
                content = label[2]
            if content.strip():
                out.append((section, _BULLET.sub("", content).strip()))
    return out


def _requirements(
    lines: list[str], rules: EvidenceRules, vocab: Vocabulary, years: list[int]
) -> tuple[Wanted, ...]:
    found: dict[str, Wanted] = {}
    for line in lines:
        for sentence in _SENTENCES.split(line):
            for wanted in _items(sentence.strip(" .,:"), rules, vocab, years):
                found.setdefault(wanted.name.casefold(), wanted)
    return tuple(found.values())


def _items(
    sentence: str, rules: EvidenceRules, vocab: Vocabulary, years: list[int]
) -> list[Wanted]:
    """ "3+ years of data analysis experience" asks for years in an area, not a skill;
    "5 years of Python, SQL" asks for years and for the skills listed after them."""
    if m := _YEARS.match(sentence):
        years.append(_years_of(m[1]))
        rest = sentence[m.end() :].strip()
        if re.fullmatch(r"(?:\w[\w /&-]*\s)?experience", rest, re.I):
            area = rest[: -len("experience")].strip()
            return [_wanted(area, rules, vocab)] if area and vocab.name_of(area) else []
        sentence = re.sub(r"^experience\s+(?:with|in|using|of)\s+", "", rest, flags=re.I)
    pieces = []
    for part in re.split(r"\s*[,;]\s*", sentence):
        part = _strip_words(part, rules)
        if vocab.name_of(part) or " and " not in part:
            pieces.append(part)
        else:
            pieces += [_strip_words(p, rules) for p in re.split(r"\s+and\s+", part)]
    return [_wanted(p, rules, vocab) for p in pieces if p]


def _strip_words(part: str, rules: EvidenceRules) -> str:
    part = part.strip(" .:-")
    part = re.sub(r"^(?:and|or)\s+", "", part, flags=re.I)
    for lead in rules.lead_ins:
        if part.casefold().startswith(lead + " "):
            part = part[len(lead) :].strip()
            break
    for tail in rules.trailing:
        if part.casefold().endswith(" " + tail):
            part = part[: -len(tail)].strip()
            break
    return part.strip(" .:-()")


def _wanted(phrase: str, rules: EvidenceRules, vocab: Vocabulary) -> Wanted:
    stripped = (_strip_words(p, rules) for p in re.split(r"\s+or\s+", phrase))
    alternatives = tuple(a for a in stripped if a)
    names = tuple(vocab.name_of(a) or a for a in alternatives) or (phrase,)
    words = phrase.casefold().split()
    spaced = " " + " ".join(re.findall(r"[\w-]+", phrase.casefold())) + " "
    soft = any(f" {word} " in spaced for word in rules.soft_skill_words)
    checkable = all(vocab.name_of(n) for n in names) or (
        not soft and len(words) <= rules.max_requirement_words
    )
    return Wanted(" or ".join(names), names, checkable)

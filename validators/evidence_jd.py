"""Reading a job description's requirements: must-haves, nice-to-haves and years asked.

Postings put requirements under headings ("Requirements:", "Nice to have:") as bullets or as
one inline list ("Requirements: 3+ years of SQL, Tableau, Excel."). A heading opens a section
that lasts until the next heading; only must-have and nice-to-have sections yield requirements,
so a skill named among the duties is not mistaken for one the job demands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hrstack.validators.evidence_rules import EvidenceRules
from hrstack.validators.evidence_terms import Vocabulary

_BULLET = re.compile(r"^\s*(?:[-*•·▪‣]|\d{1,2}[.)])\s+")
_LABEL = re.compile(r"^\s*#*\s*([A-Za-z][A-Za-z /&'-]{0,40}?)\s*:\s*(.*)$")
#: A heading alone on its line, as markdown or plain text writes it: "## Requirements",
#: "**What you'll bring**", "Nice to have".
_BARE_HEADING = re.compile(
    r"^\s*#*\s*(?:\*\*|__)?\s*([A-Za-z][A-Za-z /&'-]{0,40}?)\s*(?:\*\*|__)?\s*$"
)
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
    sections: dict[str, list[str]] = {"must": [], "nice": [], "other": []}
    for section, line in _section_lines(text, rules):
        sections[section if section in sections else "other"].append(line)
    years: list[int] = []
    if not sections["must"]:  # no requirements heading: read the prose ("you are fluent in Go")
        prose_must, prose_nice, prose_years = _prose(sections["other"], vocab)
        sections["must"], sections["nice"] = prose_must, sections["nice"] + prose_nice
        years += prose_years
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
            elif (bare := _BARE_HEADING.match(content)) and _heading(bare[1], rules):
                # "What you'll bring" or "## Requirements" on a line of its own, no colon
                section, content = _heading(bare[1], rules) or "other", ""
            if content.strip():
                out.append((section, _BULLET.sub("", content).replace("**", "").strip()))
    return out


#: Prose that states requirements: "you are fluent in A and B", "you have experience with C",
#: "proficiency in D"; and what is only a plus: "experience with E is a plus".
_PROSE_MUST = re.compile(
    r"\b(?:you(?:'re| are) (?:fluent|proficient|skilled|experienced|an expert) (?:in|with)"
    r"|you have (?:(?:strong|solid|deep|proven|hands-on) )?(?:experience|knowledge|skills?) "
    r"(?:with|in|of)|proficien(?:t|cy) (?:in|with)|fluen(?:t|cy) in|you know|you bring)"
    r"\s+(?P<items>[^.;!?]+)",
    re.IGNORECASE,
)
_PROSE_NICE = re.compile(
    r"\b(?:experience|knowledge|familiarity) (?:with|of|in)\s+(?P<items>[^.;!?]+?)\s+"
    r"(?:is|are|would be) (?:a (?:big )?(?:plus|bonus)|nice to have|desirable|a nice-to-have)",
    re.IGNORECASE,
)
_PROSE_YEARS = re.compile(r"\b(?:you have|with|bring(?:ing)?)\s+", re.IGNORECASE)


def _prose(lines: list[str], vocab: Vocabulary) -> tuple[list[str], list[str], list[int]]:
    """(must lines, nice lines, years) read from sentences without a requirements heading.
    Only things the synonym table names count: prose is full of words that are not skills."""
    must: list[str] = []
    nice: list[str] = []
    years: list[int] = []
    for line in lines:
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            plus = [m["items"] for m in _PROSE_NICE.finditer(sentence)]
            nice += [", ".join(_known(items, vocab)) for items in plus]
            if plus:
                continue
            for cue in _PROSE_YEARS.finditer(sentence):
                if m := _YEARS.match(sentence[cue.end() :]):
                    years.append(_years_of(m[1]))
            must += [", ".join(_known(m["items"], vocab)) for m in _PROSE_MUST.finditer(sentence)]
    return [m for m in must if m], [n for n in nice if n], years


def _known(items: str, vocab: Vocabulary) -> list[str]:
    """The items a reader can trust as things: named by the synonym table, or a short name
    with a capital in it (Salesforce, NetSuite, SQL): a prose list also runs on into words
    ("and have shipped products") that as must-haves would be missing from every resume."""
    parts = (p.strip() for p in re.split(r"\s*(?:,|;|\band\b|\bor\b|&|/)\s*", items))
    return [
        p
        for p in parts
        if p and (vocab.name_of(p) or (len(p.split()) <= 3 and re.search(r"[A-Z]", p)))
    ]


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

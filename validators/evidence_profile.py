"""Reading a candidate: free-text resume or JSON profile, into roles, skills and schooling.

Both shapes become one ``Profile`` so every later check is written once. A JSON profile is
taken at its word (typed roles, skill levels and years); a free-text resume yields a role for
each line with a date range (schooling when the line or its section names a school or degree),
"N years of X" statements, and "X (expert)" claims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from hrstack.validators.evidence_rules import EvidenceRules
from hrstack.validators.evidence_terms import RANGE, has_word, month_of, range_months

_STATED_TOTAL = re.compile(
    r"(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:years?|yrs?)(?:\s+of)?(?:\s+(?:professional|total|work|"
    r"industry|relevant|hands-on))?\s+experience\b(?!\s+(?:with|in|using|of)\b)",
    re.I,
)
_CLAIM = re.compile(
    r"(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:years?|yrs?)\s+(?:of\s+|with\s+|in\s+|using\s+)?"
    r"(?:experience\s+(?:with|in|using)\s+)?(?P<what>[^.;\n]{1,60})",
    re.I,
)
_GENERAL = re.compile(r"(?:of\s+)?(?:professional\s+|total\s+|work\s+)?experience\b", re.I)
_EXPERT = re.compile(r"([A-Za-z][\w+#./ -]{0,30}?)\s*\((expert|advanced|master)\)", re.I)
_HEADING = re.compile(r"^\s*([A-Za-z][A-Za-z &/-]{0,30}):\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Span:
    """A dated entry (role or schooling); months since year 0, ``end`` None when unparsed."""

    label: str
    start: int
    end: int | None
    full_time: bool
    text: str


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    level: str | None
    years: float | None


@dataclass(frozen=True, slots=True)
class Profile:
    kind: str  # "json" | "text"
    text: str  # everything the candidate wrote, for finding skills
    roles: tuple[Span, ...]
    education: tuple[Span, ...]
    skills: tuple[Skill, ...]
    stated_years: float | None
    claims: tuple[tuple[str, float], ...]  # ("Kubernetes and Docker", 12.0): years at a thing


def parse_candidate(text: str, today: date, rules: EvidenceRules) -> Profile:
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            return _from_json(data, today, rules)
    return _from_text(text, today, rules)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _span(
    entry: dict[str, Any], label: str, today: date, full_time: bool, *, open_is_now: bool = False
) -> Span | None:
    """A dated entry; ``open_is_now``: a role with a start and no end (null or missing, as JSON
    Resume writes a current job) runs to today, else it would count for nothing."""
    start = month_of(str(entry.get("start", "")), today)
    if start is None:
        return None
    end_value = entry.get("end")
    if end_value is None or end_value == "":
        end = month_of("present", today) if open_is_now else None
    else:
        end = month_of(str(end_value), today)
    return Span(label, start, end, full_time, " ".join(_strings(entry)))


def _from_json(data: dict[str, Any], today: date, rules: EvidenceRules) -> Profile:
    def entries(key: str) -> list[dict[str, Any]]:
        value = data.get(key)
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []

    roles = []
    for role in entries("roles"):
        title = str(role.get("title", ""))
        part_time = has_word(rules.part_time_words, title)
        full_time = role.get("full_time") is not False and not part_time
        label = " at ".join(str(role[k]) for k in ("title", "company") if role.get(k))
        if span := _span(role, label, today, full_time, open_is_now=True):
            roles.append(span)
    education = [
        span
        for e in entries("education")
        if (span := _span(e, str(e.get("degree") or e.get("institution") or ""), today, False))
    ]
    skills = []
    for item in data.get("skills") or [] if isinstance(data.get("skills"), list) else []:
        if isinstance(item, str):
            skills.append(Skill(item, None, None))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            years = item.get("years")
            level = item.get("level")
            skills.append(
                Skill(
                    item["name"],
                    level.casefold() if isinstance(level, str) else None,
                    float(years) if isinstance(years, int | float) and years >= 0 else None,
                )
            )
    summary = data.get("summary") if isinstance(data.get("summary"), str) else ""
    stated, claims = _statements(str(summary))
    claims += tuple((s.name, s.years) for s in skills if s.years is not None)
    text = "\n".join(_strings(data))
    return Profile("json", text, tuple(roles), tuple(education), tuple(skills), stated, claims)


def _statements(text: str) -> tuple[float | None, tuple[tuple[str, float], ...]]:
    """The largest "N years of experience" (the stated total) and "N years of X" claims."""
    totals = [float(m[1]) for m in _STATED_TOTAL.finditer(text)]
    claims = tuple(
        (m["what"].strip(), float(m[1]))
        for m in _CLAIM.finditer(text)
        if not _GENERAL.match(m["what"])
    )
    return (max(totals) if totals else None), claims


def _from_text(text: str, today: date, rules: EvidenceRules) -> Profile:
    roles: list[Span] = []
    education: list[Span] = []
    section = ""
    for line in text.splitlines():
        if heading := _HEADING.match(line):
            section = heading[1].casefold()
        for m in RANGE.finditer(line):
            start, end = range_months(m["start"], m["end"], today)
            if start is None:
                continue
            label = line[: m.start()].strip(" -*•(,:")
            if has_word(rules.education_words, f"{section} {label}"):
                education.append(Span(label, start, end, False, line))
            else:
                full = not has_word(rules.part_time_words, label)
                roles.append(Span(label, start, end, full, line))
    skills = tuple(Skill(m[1].strip(), m[2].casefold(), None) for m in _EXPERT.finditer(text))
    stated, claims = _statements(text)
    return Profile("text", text, tuple(roles), tuple(education), skills, stated, claims)

"""Integrity flags: claims in a candidate profile that cannot all be true.

Each flag sends a candidate to a human (status "verify"), never to an automatic reject: a
typo in a date looks the same as a fabricated career, and only a person can tell them apart.
Kinds: ``tenure_exceeds_total``, ``tech_older_than_release``, ``overlapping_roles``,
``expert_without_evidence``, ``impossible_education``, ``prompt_injection``, ``hidden_text``.
Details name roles, technologies and numbers only, never free text from the resume: they go
into the prompt, and an injected sentence must not ride back in through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from hrstack.validators.evidence_profile import Profile, Span
from hrstack.validators.evidence_rules import EvidenceRules
from hrstack.validators.evidence_terms import Vocabulary, merged_months
from hrstack.validators.injection import MARKER, directive_matches, hides_text


@dataclass(frozen=True, slots=True)
class Flag:
    kind: str
    detail: str


def _years(months: int) -> str:
    return f"{months / 12:.1f}".removesuffix(".0")


def _when(span: Span) -> str:
    end = f"{span.end // 12}" if span.end is not None else "?"
    return f"{span.start // 12}-{end}"


def _title_words(text: str, rules: EvidenceRules) -> set[str]:
    words = re.findall(r"[a-z][a-z+#.-]*", text.casefold())
    return {w for w in words if w not in rules.generic_title_words and len(w) > 1}


def relevant_months(
    profile: Profile, title: str, must: tuple[str, ...], rules: EvidenceRules, vocab: Vocabulary
) -> int | None:
    """Months of dated roles whose title shares a field word with the job title or whose text
    names a must-have, merged; None when no role is dated (the stated years are used then)."""
    dated = [r for r in profile.roles if r.end is not None and r.end >= r.start]
    if not dated:
        return None
    field = _title_words(title, rules)
    relevant = [
        (r.start, r.end)
        for r in dated
        if _title_words(r.label, rules) & field
        or any(vocab.pattern(name).search(r.text) for name in must)
    ]
    return merged_months([(s, e) for s, e in relevant if e is not None])


def integrity_flags(
    profile: Profile, today: date, rules: EvidenceRules, vocab: Vocabulary, invisible: list[str]
) -> tuple[Flag, ...]:
    """``invisible``: the characters stripped from the candidate text before it was parsed."""
    now = today.year * 12 + today.month - 1
    flags = [
        *_tenure(profile, rules),
        *_anachronisms(profile, today, rules, vocab),
        *_overlaps(profile, rules),
        *_experts(profile, rules, vocab),
        *_education(profile, now),
        *_injection(profile.text, invisible),
    ]
    return tuple(dict.fromkeys(flags))


def _tenure(profile: Profile, rules: EvidenceRules) -> list[Flag]:
    stated = profile.stated_years
    if stated is None:
        return []
    limit = stated + rules.thresholds.tenure_slack_years
    flags = []
    spans = [(r.start, r.end) for r in profile.roles if r.end is not None and r.end >= r.start]
    covered = merged_months([(s, e) for s, e in spans if e is not None])
    if covered / 12 > limit:
        flags.append(
            Flag("tenure_exceeds_total", f"roles cover {_years(covered)} years, stated {stated:g}")
        )
    for _, years in profile.claims:
        if years > limit:
            detail = f"{years:g} years claimed at one skill, stated {stated:g}"
            flags.append(Flag("tenure_exceeds_total", detail))
    return flags


def _anachronisms(
    profile: Profile, today: date, rules: EvidenceRules, vocab: Vocabulary
) -> list[Flag]:
    slack = rules.thresholds.tech_slack_years
    flags = []
    released = {vocab.name_of(tech) or tech: year for tech, year in rules.release_years.items()}
    for what, years in profile.claims:
        for tech in vocab.known_in(what):
            if tech in released and years > today.year - released[tech] + slack:
                detail = f"{years:g} years of {tech} claimed; it exists since {released[tech]}"
                flags.append(Flag("tech_older_than_release", detail))
    for role in profile.roles:
        last = role.end if role.end is not None else role.start
        for tech, year in released.items():
            if last < year * 12 and vocab.patterns[tech].search(role.text):
                detail = f"role {_when(role)} uses {tech}, released {year}"
                flags.append(Flag("tech_older_than_release", detail))
    return flags


def _overlaps(profile: Profile, rules: EvidenceRules) -> list[Flag]:
    full = [r for r in profile.roles if r.full_time and r.end is not None]
    flags = []
    for a, b in combinations(full, 2):
        assert a.end is not None and b.end is not None
        months = min(a.end, b.end) - max(a.start, b.start)
        if months > rules.thresholds.overlap_months:
            detail = f"full-time roles {_when(a)} and {_when(b)} overlap {months} months"
            flags.append(Flag("overlapping_roles", detail))
    return flags


def _experts(profile: Profile, rules: EvidenceRules, vocab: Vocabulary) -> list[Flag]:
    flags = []
    for skill in profile.skills:
        if skill.level not in rules.expert_levels or skill.years is not None:
            continue
        if not any(vocab.pattern(skill.name).search(role.text) for role in profile.roles):
            detail = f"{skill.name[:40]} at {skill.level} level, no years and no role using it"
            flags.append(Flag("expert_without_evidence", detail))
    return flags


def _education(profile: Profile, now: int) -> list[Flag]:
    flags = []
    for school in profile.education:
        if school.end is not None and school.end < school.start:
            flags.append(Flag("impossible_education", f"{_when(school)} ends before it starts"))
        if school.start > now:
            flags.append(Flag("impossible_education", f"{_when(school)} starts in the future"))
        elif school.end is not None and school.end > now:
            flags.append(Flag("impossible_education", f"{_when(school)} ends in the future"))
    return flags


def _injection(text: str, invisible: list[str]) -> list[Flag]:
    """The gateway's own patterns (validators/injection.py), and its neutralization marker:
    evidence is computed on screened text, where the instruction is already replaced."""
    flags = []
    if invisible and hides_text(invisible):
        flags.append(Flag("hidden_text", f"{len(invisible)} invisible characters"))
    found = sorted({name for name, _ in directive_matches(text)})
    if MARKER in text:
        found.append("neutralized instruction")
    if found:
        flags.append(Flag("prompt_injection", ", ".join(found)))
    return flags

"""Job descriptions: a Responsibilities section and a Requirements section, each with bullets.

Only those two are required (per the training notes' deployment reminder: optional sections are
never required). Optional sections (About, Benefits, Nice to have, Compensation, ...) are still
recognised so their bullets are not credited to Requirements, and they appear in ``parsed``.
Headings match case-insensitively under common variants, with optional markdown ``#``, bold and
trailing colon; bullets are ``-``, ``*``, ``•`` or numbered items.
"""

from __future__ import annotations

from collections.abc import Mapping

from hrstack.validators.base import Check, ValidationResult
from hrstack.validators.checks import length_check, skipped
from hrstack.validators.grammar import (
    Constraint,
    Line,
    Node,
    between,
    bullets,
    choice,
    grammar,
    seq,
    shortest_line,
)
from hrstack.validators.lists import bullet_sections, heading_aliases
from hrstack.validators.rules import JobDescriptionRules

DOMAIN = "job_description"
CHECKS = (
    "responsibilities_section",
    "requirements_section",
    "responsibilities_bullets",
    "requirements_bullets",
    "length",
)
REQUIRED_SECTIONS = ("responsibilities", "requirements")
#: The checks the decoding grammar makes true by construction (the self-check proves it).
FORMAT_CHECKS = CHECKS[:4]
#: The shortest bullet the grammar allows: a few words ("SQL and Python").
SHORTEST_BULLET = 8

SECTION_HEADINGS: dict[str, tuple[str, ...]] = {
    "responsibilities": (
        "Responsibilities", "Key Responsibilities", "Main Responsibilities",
        "Core Responsibilities", "Job Responsibilities", "Your Responsibilities",
        "Role Responsibilities", "Roles and Responsibilities", "Role and Responsibilities",
        "Duties and Responsibilities", "Duties", "Key Duties", "Job Duties",
        "What you'll do", "What you will do", "What you'll be doing", "What you will be doing",
        "In this role you will",
    ),
    "requirements": (
        "Requirements", "Key Requirements", "Job Requirements", "Minimum Requirements",
        "Qualifications", "Required Qualifications", "Minimum Qualifications",
        "Basic Qualifications", "Key Qualifications", "Requirements and Qualifications",
        "Qualifications and Requirements", "Skills and Qualifications",
        "Qualifications and Skills", "Required Skills", "Required Skills and Experience",
        "Skills and Experience", "Must have", "Must haves", "Must-have", "Must-haves",
        "What you'll bring", "What you will bring", "What we're looking for",
        "What we are looking for", "Who you are", "You have", "About you",
    ),
    "about": (
        "About", "About Us", "About the Company", "About the Role", "About the Job",
        "About the Team", "Overview", "Job Overview", "Role Overview", "Company Overview",
        "Summary", "Job Summary", "Position Summary", "Role Summary", "Job Title", "The Role",
    ),
    "nice_to_have": (
        "Nice to have", "Nice to haves", "Nice-to-have", "Nice-to-haves", "Preferred",
        "Preferred Qualifications", "Preferred Skills", "Preferred Experience", "Bonus",
        "Bonus Points", "Pluses", "Good to have",
    ),
    "benefits": (
        "Benefits", "Perks", "Perks and Benefits", "Benefits and Perks", "What we offer",
        "What we provide", "Why join us", "Why you'll love working here",
    ),
    "compensation": ("Compensation", "Salary", "Salary Range", "Pay", "Pay Range"),
    "location": ("Location", "Work Location", "Schedule", "Working Hours"),
    "how_to_apply": ("How to apply", "Application Process", "Next Steps"),
    "equal_opportunity": ("Equal Opportunity", "Equal Opportunity Employer", "EEO Statement"),
}  # fmt: skip
_ALIASES = heading_aliases(SECTION_HEADINGS)


def validate(
    text: str, rules: JobDescriptionRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check a job description; ``context`` is unused."""
    sections = bullet_sections(text, _ALIASES)
    checks: list[Check] = []
    for name in REQUIRED_SECTIONS:
        checks.append(_section_present(name, sections))
    for name in REQUIRED_SECTIONS:
        checks.append(_section_bullets(name, sections, rules.min_bullets))
    checks.append(length_check(text, rules.min_chars, rules.max_chars))
    return ValidationResult(DOMAIN, tuple(checks), {"sections": sections})


def requirements(rules: JobDescriptionRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A Responsibilities section (heading such as 'Responsibilities', 'Key "
        "Responsibilities', 'What you'll do' or 'Duties').",
        "A Requirements section (heading such as 'Requirements', 'Qualifications', 'What "
        "you'll bring', 'Must have' or 'Required Skills').",
        f"At least {rules.min_bullets} bullets ('-', '*', '•' or '1.') under each of them.",
        "Other sections (About, Benefits, Nice to have, Compensation...) are optional.",
        f"Between {rules.min_chars} and {rules.max_chars} characters.",
    ]


def _section_present(name: str, sections: Mapping[str, list[str]]) -> Check:
    found = name in sections
    detail = f"'{name}' heading found" if found else f"no '{name}' heading"
    return Check(f"{name}_section", found, detail)


def _section_bullets(name: str, sections: Mapping[str, list[str]], min_bullets: int) -> Check:
    bullets = sections.get(name)
    if bullets is None:
        return skipped(f"{name}_bullets", f"no '{name}' heading")
    count = len(bullets)
    return Check(
        f"{name}_bullets", count >= min_bullets, f"{count} bullets (need at least {min_bullets})"
    )


def constraint(
    rules: JobDescriptionRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """A one-line summary; ``Responsibilities:`` and ``Requirements:`` (the first name of each
    required section) with ``min_bullets``..``max_bullets`` bullets each; then up to
    ``max_optional_sections`` optional sections, headed by the first name of an optional group
    (Benefits, Nice to have, ...), never required. The summary's shortest length makes the
    shortest answer meet ``min_chars``."""
    required = [SECTION_HEADINGS[name][0] for name in REQUIRED_SECTIONS]
    optional = [names[0] for key, names in SECTION_HEADINGS.items() if key not in REQUIRED_SECTIONS]
    bullet = Line(SHORTEST_BULLET, rules.max_bullet_chars, first="A-Za-z0-9")  # "5+ years"

    def root(shortest_summary: int) -> Node:
        sections = [
            seq(f"\n\n{heading}:", bullets(bullet, rules.min_bullets, rules.max_bullets))
            for heading in required
        ]
        extra = seq(
            "\n\n",
            choice(optional, name="optional_heading"),
            ":",
            bullets(bullet, 1, rules.max_bullets),
        )
        return seq(
            Line(shortest_summary, rules.max_summary_chars),
            *sections,
            between([extra] * rules.max_optional_sections, 0),
        )

    fixed = root(1).shortest - 1
    shortest = min(shortest_line(rules.min_chars, fixed, 1), rules.max_summary_chars)
    return grammar(root(shortest), after=after)

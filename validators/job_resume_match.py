"""Job-resume match: the verdict a recruiter scans in seconds, in a fixed shape.

The answer must carry four parts (order free, headings case-insensitive, markdown bold allowed):

* ``Match Score: NN/100`` (or ``NN%``), a whole number from 0 to 100 -- comparable across
  candidates and sortable;
* ``Strengths:`` followed by bullets -- the evidence for the score;
* ``Gaps:`` followed by bullets -- what is missing, so the score is not just flattery;
* ``Recommendation:`` with free text, ideally starting with interview / consider / reject.

Example of a passing answer::

    Match Score: 78/100
    Strengths:
    - 6 years of Python backend work against the 5+ required
    - Led the Kubernetes migration the role will extend
    Gaps:
    - No Go experience
    Recommendation: Interview; probe Go in the technical round.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hrstack.validators.base import Check, ValidationResult
from hrstack.validators.checks import distinct_check, length_check, skipped
from hrstack.validators.grammar import Alt, Char, Constraint, Line, bullets, choice, grammar, seq
from hrstack.validators.lists import bullet_sections, bullet_text, has_letter, heading_aliases
from hrstack.validators.protected import no_protected_check
from hrstack.validators.rules import JobResumeMatchRules

DOMAIN = "job_resume_match"
CHECKS = (
    "match_score",
    "score_range",
    "strengths_section",
    "min_strengths",
    "gaps_section",
    "min_gaps",
    "recommendation",
    "bullets_distinct",
    "no_protected_attributes",
    "length",
)

#: The checks the decoding grammar makes true by construction (the self-check proves it).
FORMAT_CHECKS = CHECKS[:7]
#: What the grammar's Recommendation line starts with.
RECOMMENDATIONS = ("interview", "consider", "reject")
SHORTEST_BULLET = 8

_LABEL_PREFIX = r"^[ \t]*+(?:[-*•][ \t]++)?(?:\*\*|__)?[ \t]*+"
_LABEL_SUFFIX = r"[ \t]*+(?:\*\*|__)?[ \t]*+:[ \t]*+(?:\*\*|__)?[ \t]*+(.*)$"
_SCORE_LINE = re.compile(
    _LABEL_PREFIX + r"(?:overall[ \t]++)?match[ \t]++score" + _LABEL_SUFFIX,
    re.IGNORECASE | re.MULTILINE,
)
_SCORE_VALUE = re.compile(r"(\d{1,4})[ \t]*+(?:/[ \t]*+100(?!\d|\.\d)|%)")
_RECOMMENDATION_LINE = re.compile(
    _LABEL_PREFIX + r"(?:final[ \t]++)?recommendation" + _LABEL_SUFFIX,
    re.IGNORECASE | re.MULTILINE,
)
_ALIASES = heading_aliases(
    {
        "strengths": ("Strengths", "Key Strengths", "Matching Strengths"),
        "gaps": ("Gaps", "Key Gaps", "Skill Gaps", "Gaps and Risks", "Gaps and Concerns"),
        # Known so that bullets after them are not credited to the section above.
        "recommendation": ("Recommendation", "Final Recommendation"),
        "match_score": ("Match Score", "Overall Match Score"),
        "summary": ("Summary", "Overall Summary"),
    }
)


def validate(
    text: str, rules: JobResumeMatchRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check a match answer; ``context`` is unused (the score is not re-derived here). A
    strength, gap or recommendation that names a protected attribute fails: a match is a
    screening decision, held to rank's rule."""
    score, score_checks = _score_checks(text)
    sections = bullet_sections(text, _ALIASES)
    strengths = sections.get("strengths")
    gaps = sections.get("gaps")
    recommendation = _recommendation(text)
    checks = [
        *score_checks,
        *_bullet_checks("strengths", strengths, "min_strengths", rules.min_strengths),
        *_bullet_checks("gaps", gaps, "min_gaps", rules.min_gaps),
        Check(
            "recommendation",
            recommendation is not None,
            f"{recommendation!r:.60}" if recommendation else "no 'Recommendation:' line with text",
        ),
        distinct_check([*(strengths or []), *(gaps or [])], "bullets_distinct", "bullet"),
        no_protected_check(
            "no_protected_attributes",
            "line",
            [*(strengths or []), *(gaps or []), *([recommendation] if recommendation else [])],
            rules.protected_terms,
        ),
        length_check(text, rules.min_chars, rules.max_chars),
    ]
    parsed: dict[str, Any] = {
        "score": score,
        "strengths": strengths or [],
        "gaps": gaps or [],
        "recommendation": recommendation,
        "decision": recommendation_word(recommendation),
    }
    return ValidationResult(DOMAIN, tuple(checks), parsed)


def requirements(rules: JobResumeMatchRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A line 'Match Score: NN/100' (or 'NN%') with a whole number from 0 to 100.",
        f"A 'Strengths:' section with at least {rules.min_strengths} bullet(s).",
        f"A 'Gaps:' section with at least {rules.min_gaps} bullet(s).",
        "No bullet repeats another (strengths and gaps together).",
        "No strength, gap or recommendation names a protected attribute ("
        + ", ".join(rules.protected_terms)
        + ").",
        "A 'Recommendation:' line, e.g. 'Recommendation: Interview; strong backend fit'.",
        f"Between {rules.min_chars} and {rules.max_chars} characters.",
    ]


def recommendation_word(recommendation: str | None) -> str | None:
    """interview / consider / reject when the recommendation starts with one, else None: the
    decision the guards judge (the grammar always writes one first)."""
    if not recommendation:
        return None
    first = re.match(r"[A-Za-z]+", recommendation.strip())
    word = first[0].casefold() if first else ""
    return word if word in RECOMMENDATIONS else None


def _score_checks(text: str) -> tuple[int | None, list[Check]]:
    line = _SCORE_LINE.search(text)
    if line is None:
        why = "no 'Match Score:' line"
        return None, [Check("match_score", False, why), skipped("score_range", why)]
    value = _SCORE_VALUE.match(line.group(1))
    if value is None:
        why = f"'Match Score: {line.group(1).strip():.30}' is not 'NN/100' or 'NN%'"
        return None, [Check("match_score", False, why), skipped("score_range", why)]
    score = int(value.group(1))
    return score, [
        Check("match_score", True, f"{score}/100"),
        Check("score_range", 0 <= score <= 100, f"{score} (allowed 0..100)"),
    ]


def _bullet_checks(
    section: str, bullets: list[str] | None, count_check: str, minimum: int
) -> list[Check]:
    if bullets is None:
        why = f"no '{section.capitalize()}:' heading"
        return [Check(f"{section}_section", False, why), skipped(count_check, why)]
    count = len(bullets)
    return [
        Check(f"{section}_section", True, f"'{section.capitalize()}:' heading found"),
        Check(count_check, count >= minimum, f"{count} bullets (need at least {minimum})"),
    ]


def _recommendation(text: str) -> str | None:
    """The recommendation text: after the colon, or on the next non-blank line if none."""
    line = _RECOMMENDATION_LINE.search(text)
    if line is None:
        return None
    found = line.group(1).replace("**", "").strip()
    if not found:
        for below in text[line.end() :].splitlines():
            if below.strip():
                found = (bullet_text(below) or below).replace("**", "").strip()
                break
    return found if has_letter(found) else None


def constraint(
    rules: JobResumeMatchRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """``Match Score: NN/100`` (0..100), ``Strengths:`` and ``Gaps:`` with their bullet
    counts, and ``Recommendation:`` with one of interview/consider/reject and a short reason."""
    score = Alt((seq("100"), seq(Char("1-9"), Char("0-9")), Char("0-9")))
    bullet = Line(SHORTEST_BULLET, rules.max_bullet_chars, first="A-Za-z0-9")  # "5+ years"
    root = seq(
        "Match Score: ",
        score,
        "/100\nStrengths:",
        bullets(bullet, max(rules.min_strengths, 1), rules.max_strengths),
        "\nGaps:",
        bullets(bullet, max(rules.min_gaps, 1), rules.max_gaps),
        "\nRecommendation: ",
        choice(RECOMMENDATIONS),
        ", ",
        Line(SHORTEST_BULLET, rules.max_reason_chars),
    )
    return grammar(root, after=after)

"""Resume guidance: numbered, distinct tips plus evidence of ATS keywords.

The ATS rule is the one training evaluated with (see the "Deployment Reminders" in the training
checkpoint notes): an ``ATS Keywords:`` line naming keywords, OR enough commas that the answer
evidently lists keywords inline. Production must accept exactly what training rewarded.

Example of a passing answer::

    1. Lead with a two-line summary tailored to the role.
    2. Quantify impact: "cut p95 latency 40%" beats "improved performance".
    3. Mirror the posting's skill names so ATS filters match them.
    ATS Keywords: Python, Kubernetes, CI/CD
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hrstack.validators.base import Check, ValidationResult
from hrstack.validators.checks import NUMBERED_LIST_CHECKS, length_check, numbered_list_checks
from hrstack.validators.grammar import (
    Constraint,
    Line,
    Node,
    between,
    grammar,
    numbered,
    seq,
    shortest_line,
)
from hrstack.validators.lists import bullet_text, has_letter, numbered_list
from hrstack.validators.rules import ResumeGuidanceRules

DOMAIN = "resume_guidance"
CHECKS = (*NUMBERED_LIST_CHECKS, "tips_not_keywords", "ats_rule", "length")
#: The checks the decoding grammar makes true by construction (the self-check proves it).
FORMAT_CHECKS = (
    "numbered_list",
    "items_in_order",
    "min_items",
    "items_non_empty",
    "tips_not_keywords",
    "ats_rule",
)

# Optional list marker or bold around the label; the keywords follow the colon on that line.
_ATS_LINE = re.compile(
    r"^[ \t]*+(?:(?:[-*•]|\d{1,3}[.)])[ \t]++)?(?:\*\*|__)?[ \t]*+ATS[ \t]++Keywords[ \t]*+"
    r"(?:\*\*|__)?[ \t]*+:[ \t]*+(?:\*\*|__)?(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_KEYWORD_SEPARATORS = re.compile(r"[,;|]")
#: What no tip may start with (any case): the grammar excludes it, so no tip can be what
#: ``_ATS_LINE`` reads as the keyword line.
KEYWORDS_LABEL = "ATS K"


def validate(
    text: str, rules: ResumeGuidanceRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check a resume-guidance answer; ``context`` is unused (the rules need no request text)."""
    parsed_list = numbered_list(text)
    keywords = ats_keywords(text)
    checks = [
        *numbered_list_checks(parsed_list, rules.min_items),
        _tips_not_keywords(parsed_list.items),
        _ats_rule(text, keywords, rules),
        length_check(text, rules.min_chars, rules.max_chars),
    ]
    parsed = {"items": list(parsed_list.items), "ats_keywords": keywords}
    return ValidationResult(DOMAIN, tuple(checks), parsed)


def requirements(rules: ResumeGuidanceRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A numbered list starting at '1.' and numbered 1, 2, 3... in order.",
        f"At least {rules.min_items} items; every item has text and no two items repeat.",
        "No numbered item is the 'ATS Keywords:' line; the keywords follow the tips.",
        f"Either a line 'ATS Keywords:' followed by at least {rules.min_ats_keywords} "
        f"comma-separated keyword(s), or at least {rules.min_commas} commas in the answer.",
        f"Between {rules.min_chars} and {rules.max_chars} characters.",
    ]


def ats_keywords(text: str) -> list[str]:
    """Keywords from the first ``ATS Keywords:`` line that has any.

    They are read from the same line ("ATS Keywords: Python, SQL") or, when the line ends at
    the colon, from the bullet lines directly below it.
    """
    for match in _ATS_LINE.finditer(text):
        inline = match.group(1).replace("**", "")
        found = [word.strip() for word in _KEYWORD_SEPARATORS.split(inline)]
        keywords = [word for word in found if has_letter(word)]
        if not keywords and not inline.strip():
            keywords = _bullets_below(text, match.end())
        if keywords:
            return keywords
    return []


def _bullets_below(text: str, start: int) -> list[str]:
    keywords: list[str] = []
    for line in text[start:].splitlines()[1:]:
        if not line.strip():
            if keywords:
                break
            continue
        body = bullet_text(line)
        if body is None:
            break
        if has_letter(body):
            keywords.append(body.replace("**", "").strip())
    return keywords


def _tips_not_keywords(items: tuple[str, ...]) -> Check:
    """A keyword list numbered as a tip inflates the tip count with no advice in it (Qwen2.5
    wrote "3. ATS Keywords: ..." between tips, and the ATS rule alone called that valid)."""
    for position, item in enumerate(items, start=1):
        if _ATS_LINE.match(item):  # the item itself is the keyword line
            return Check(
                "tips_not_keywords",
                False,
                f"item {position} is an 'ATS Keywords:' line, not a tip; put the keywords on "
                "one 'ATS Keywords:' line after the tips",
            )
    return Check("tips_not_keywords", True, f"{len(items)} item(s), none a keyword line")


def _ats_rule(text: str, keywords: list[str], rules: ResumeGuidanceRules) -> Check:
    commas = text.count(",")
    if len(keywords) >= rules.min_ats_keywords:
        return Check("ats_rule", True, f"'ATS Keywords:' line with {len(keywords)} keyword(s)")
    if commas >= rules.min_commas:
        return Check("ats_rule", True, f"{commas} commas (need {rules.min_commas})")
    return Check(
        "ats_rule",
        False,
        f"no 'ATS Keywords:' line with at least {rules.min_ats_keywords} keyword(s), and only "
        f"{commas} commas (need {rules.min_commas}); add an 'ATS Keywords: a, b, c' line",
    )


def constraint(
    rules: ResumeGuidanceRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """The decoding grammar: ``min_items``..``max_items`` numbered tips of one line each, then
    the ``ATS Keywords:`` line with ``min_ats_keywords``..``max_ats_keywords`` keywords, then
    the end. Items start with a letter (never "1. 1.") but never with the keyword label, and the
    shortest tip is sized so the shortest answer still meets ``min_chars``. ``after``: the seed
    already sent ("1.")."""

    def root(shortest_item: int) -> Node:
        keyword = Line(1, rules.max_ats_keyword_chars, first="A-Za-z0-9", exclude=",")
        keywords = [keyword, *[seq(", ", keyword)] * (rules.max_ats_keywords - 1)]
        return seq(
            numbered(
                Line(shortest_item, rules.max_item_chars, not_prefix=KEYWORDS_LABEL),
                rules.min_items,
                rules.max_items,
                after=after,
            ),
            "\nATS Keywords: ",
            between(keywords, rules.min_ats_keywords),
        )

    fixed = len(after) + root(1).shortest - rules.min_items
    return grammar(root(shortest_line(rules.min_chars, fixed, rules.min_items)), after=after)

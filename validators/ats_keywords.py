"""ATS keywords: a numbered list of distinct, short terms an applicant-tracking system matches.

Long items are sentences, not keywords, and a repeated keyword (in any case) pads the count,
so both fail. Markdown emphasis and trailing punctuation are not part of a keyword. Keywords
must come from the job description: an ATS matches the posting's own terms, and a small model
otherwise returns the example list from its prompt.
"""

from __future__ import annotations

from collections.abc import Mapping

from validators.base import Check, ValidationResult
from validators.checks import (
    NUMBERED_LIST_CHECKS,
    collapse_spaces,
    numbered_list_checks,
    occurs_as_word,
    skipped,
)
from validators.lists import numbered_list
from validators.rules import AtsKeywordsRules

DOMAIN = "ats_keywords"
CHECKS = (
    *NUMBERED_LIST_CHECKS[:2],
    "min_keywords",
    *NUMBERED_LIST_CHECKS[3:],
    "keywords_short",
    "keywords_from_input",
)

_TRAILING = " \t.,;:"


def validate(
    text: str, rules: AtsKeywordsRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check an ATS keyword list against ``context["job_description"]`` when given."""
    parsed_list = numbered_list(text)
    keywords = [_plain(item) for item in parsed_list.items]
    checks = (
        *numbered_list_checks(
            parsed_list, rules.min_keywords, count_name="min_keywords", noun="keywords"
        ),
        _short(keywords, rules) if keywords else skipped("keywords_short", "no numbered list"),
        _from_input(keywords, rules, context),
    )
    return ValidationResult(DOMAIN, checks, {"keywords": keywords})


def requirements(rules: AtsKeywordsRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A numbered list starting at '1.' and numbered 1, 2, 3... in order, one keyword per item.",
        f"At least {rules.min_keywords} keywords; none empty and none repeated (ignoring case).",
        f"Each keyword at most {rules.max_keyword_words} words and "
        f"{rules.max_keyword_chars} characters.",
        f"At least {rules.min_from_input_share:.0%} of the keywords occur in the job description "
        "(as a phrase, or word by word).",
    ]


def _plain(item: str) -> str:
    """The keyword without markdown emphasis or trailing punctuation ("**Python**." -> "Python")."""
    return item.replace("**", "").replace("__", "").replace("`", "").strip(_TRAILING)


def _short(keywords: list[str], rules: AtsKeywordsRules) -> Check:
    for position, keyword in enumerate(keywords, start=1):
        words = len(keyword.split())
        if words > rules.max_keyword_words or len(keyword) > rules.max_keyword_chars:
            return Check(
                "keywords_short",
                False,
                f"keyword {position} has {words} words / {len(keyword)} chars (allowed "
                f"{rules.max_keyword_words} / {rules.max_keyword_chars}): {keyword!r:.60}",
            )
    return Check("keywords_short", True, f"all {len(keywords)} keywords are short")


def _from_input(
    keywords: list[str], rules: AtsKeywordsRules, context: Mapping[str, str] | None
) -> Check:
    posting = (context or {}).get("job_description")
    if not isinstance(posting, str):
        return Check("keywords_from_input", True, "no context")
    if not keywords:
        return skipped("keywords_from_input", "no numbered list")
    haystack = collapse_spaces(posting.casefold())
    missing = [k for k in keywords if not _occurs(collapse_spaces(k.casefold()), haystack)]
    share = 1 - len(missing) / len(keywords)
    ok = share >= rules.min_from_input_share
    detail = f"{share:.0%} of keywords occur in the job description"
    if missing:
        detail += f"; not found: {', '.join(missing)[:100]}"
    return Check("keywords_from_input", ok, detail)


def _occurs(keyword: str, haystack: str) -> bool:
    return occurs_as_word(keyword, haystack) or all(
        occurs_as_word(word, haystack) for word in keyword.split()
    )

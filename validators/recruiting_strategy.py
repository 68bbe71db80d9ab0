"""Recruiting strategy: a numbered plan whose steps are distinct and in order.

Same list shape as resume guidance (and the same "1. 1. 1." guard), without the ATS rule: a
hiring plan is judged on having enough separate, ordered steps.
"""

from __future__ import annotations

from collections.abc import Mapping

from hrstack.validators.base import ValidationResult
from hrstack.validators.checks import NUMBERED_LIST_CHECKS, length_check, numbered_list_checks
from hrstack.validators.grammar import Constraint, Line, Node, grammar, numbered, shortest_line
from hrstack.validators.lists import numbered_list
from hrstack.validators.rules import RecruitingStrategyRules

DOMAIN = "recruiting_strategy"
CHECKS = (*NUMBERED_LIST_CHECKS, "length")
#: The checks the decoding grammar makes true by construction (the self-check proves it).
FORMAT_CHECKS = ("numbered_list", "items_in_order", "min_items", "items_non_empty")


def validate(
    text: str, rules: RecruitingStrategyRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check a recruiting-strategy answer; ``context`` is unused."""
    parsed_list = numbered_list(text)
    checks = (
        *numbered_list_checks(parsed_list, rules.min_items),
        length_check(text, rules.min_chars, rules.max_chars),
    )
    return ValidationResult(DOMAIN, checks, {"items": list(parsed_list.items)})


def requirements(rules: RecruitingStrategyRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A numbered list starting at '1.' and numbered 1, 2, 3... in order.",
        f"At least {rules.min_items} steps; every step has text and no two steps repeat.",
        f"Between {rules.min_chars} and {rules.max_chars} characters.",
    ]


def constraint(
    rules: RecruitingStrategyRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """``min_items``..``max_items`` numbered steps of one line each, then the end: the list
    cannot run on or loop. ``after``: the seed already sent ("1.")."""

    def root(shortest: int) -> Node:
        return numbered(
            Line(shortest, rules.max_item_chars), rules.min_items, rules.max_items, after=after
        )

    fixed = len(after) + root(1).shortest - rules.min_items
    return grammar(root(shortest_line(rules.min_chars, fixed, rules.min_items)), after=after)

"""recruiting_strategy: a numbered plan of distinct steps, in order."""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules
from hrstack.validators.recruiting_strategy import CHECKS, requirements, validate

VALID = (
    "1. Define the scorecard with the hiring manager.\n"
    "2. Source through referrals and targeted outreach.\n"
    "3. Run one structured technical interview loop.\n"
)

CASES = [
    pytest.param(VALID, [], id="valid"),
    pytest.param("Plan:\n" + VALID + "Review weekly.", [], id="valid-with-preamble-and-tail"),
    pytest.param(
        "1. 1. 1. 1.\nPadding so that only the list checks fail here, and nothing else does.",
        ["min_items", "items_non_empty"],
        id="degenerate-1-1-1-1",
    ),
    pytest.param(
        VALID.replace("3. Run one structured technical interview loop.",
                      "3. Define the scorecard with the hiring manager!"),
        ["items_distinct"],
        id="repeated-step",
    ),
    pytest.param(VALID.replace("2.", "3.", 1), ["items_in_order"], id="out-of-order"),
    pytest.param(
        VALID.replace("1.", "2.", 1), ["numbered_list", "items_in_order"], id="starts-at-2"
    ),
    pytest.param(
        VALID.replace("2. Source through referrals and targeted outreach.", "2. ..."),
        ["items_non_empty"],
        id="step-without-words",
    ),
    pytest.param(
        "1. Define the scorecard with the hiring manager first.\n"
        "2. Source through referrals and targeted outreach.\n",
        ["min_items"],
        id="too-few-steps",
    ),
    pytest.param(
        "Define a scorecard, source candidates, interview them and close the best one fast.",
        ["numbered_list", "items_in_order", "min_items", "items_non_empty", "items_distinct"],
        id="prose-not-a-list",
    ),
    pytest.param("1. Scope.\n2. Source.\n3. Screen.\n", ["length"], id="too-short"),
    pytest.param(VALID + "y" * 1000, ["length"], id="too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "failed"), CASES)
def test_checks(text: str, failed: list[str], rules: ValidatorRules) -> None:
    result = validate(text, rules.recruiting_strategy)
    assert result.failed == failed, result.to_dict()
    assert tuple(check.name for check in result.checks) == CHECKS


def test_parsed_items(rules: ValidatorRules) -> None:
    items = validate(VALID, rules.recruiting_strategy).parsed["items"]
    assert items == [
        "Define the scorecard with the hiring manager.",
        "Source through referrals and targeted outreach.",
        "Run one structured technical interview loop.",
    ]


def test_requirements_state_minimum(rules: ValidatorRules) -> None:
    assert any("At least 3 steps" in line for line in requirements(rules.recruiting_strategy))

"""Properties every domain must hold on any string: no exception, ``ok`` agrees with the checks,
and the same check names in the same order (reports and metrics rely on a stable set)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrstack.validators import CHECK_NAMES, DOMAINS, ValidatorRules, validate

# Fragments that reach the parsers' deeper branches far more often than uniform text does.
FRAGMENTS = st.sampled_from(
    [
        "1.", "2.", "3)", "1. 1. 1.", "10.", "1.5", "- ", "* ", "• ", "  ", "\t", "\n", "**",
        "#", "## ", ":", ",", "Requirements", "Responsibilities:", "What you'll do",
        "Nice to have", "Strengths:", "Gaps:", "Recommendation:", "Match Score: ", "78/100",
        "150%", "ATS Keywords:", "Python", "python", "```json", "```", "{", "}", '"decision"',
        '"score"', '"reasons"', "[", "]", '"shortlist"', "0.5", "true", "NaN", "Stripe's",
        "C++", "5+", "ß", "İ", "\u2028", "\r\n", "\x00", " " * 300,
    ]
)  # fmt: skip
STRUCTURED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)
TEXT = st.one_of(st.text(), STRUCTURED)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
RANK_OBJECTS = st.fixed_dictionaries(
    {
        "decision": st.one_of(st.sampled_from(["shortlist", "reject"]), JSON_VALUES),
        "score": st.one_of(st.floats(allow_nan=False), st.integers(), JSON_VALUES),
        "reasons": st.lists(st.one_of(STRUCTURED, JSON_VALUES), max_size=7) | JSON_VALUES,
    },
    optional={"extra": JSON_VALUES},
)
RANK_TEXT = RANK_OBJECTS.map(json.dumps) | RANK_OBJECTS.map(
    lambda o: f"```json\n{json.dumps(o)}\n```"
)
CONTEXT = st.none() | st.fixed_dictionaries(
    {}, optional={"job_description": TEXT, "candidate": TEXT, "other": st.text(max_size=5)}
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_well_formed(domain: str, text: str, rules: ValidatorRules, context: object) -> None:
    result = validate(domain, text, rules, context)  # type: ignore[arg-type]
    assert result.domain == domain
    assert tuple(check.name for check in result.checks) == CHECK_NAMES[domain]
    assert result.ok == all(check.ok for check in result.checks)
    assert result.failed == [c.name for c in result.checks if not c.ok]
    assert all(not c.ok for c in result.checks if c.detail.startswith("skipped:"))
    assert validate(domain, text, rules, context) == result  # pure: no hidden state
    json.dumps(result.to_dict())  # reports must serialise


@pytest.mark.parametrize("domain", DOMAINS)
@SETTINGS
@given(text=TEXT, context=CONTEXT)
def test_any_text_is_judged_not_raised(
    domain: str, text: str, context: dict[str, str] | None, rules: ValidatorRules
) -> None:
    assert_well_formed(domain, text, rules, context)


@SETTINGS
@given(text=RANK_TEXT, context=CONTEXT)
def test_any_json_object_is_judged_not_raised(
    text: str, context: dict[str, str] | None, rules: ValidatorRules
) -> None:
    assert_well_formed("rank", text, rules, context)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize(
    "text",
    [
        "",
        " " * 20_000 + "x",
        "[" * 50_000,
        "1. " * 5_000,
        "- a\n" * 5_000,
        "Requirements:\n" * 3_000,
    ],
    ids=["empty", "long-spaces", "deep-json", "long-numbering", "many-bullets", "many-headings"],
)
def test_pathological_inputs(domain: str, text: str, rules: ValidatorRules) -> None:
    assert_well_formed(domain, text, rules, {"job_description": text, "candidate": text})


@pytest.mark.parametrize("domain", ["resume_guidance", "recruiting_strategy", "ats_keywords"])
@SETTINGS
@given(item=st.text(min_size=1, max_size=40), repeats=st.integers(min_value=2, max_value=8))
def test_a_repeated_item_never_passes(
    domain: str, item: str, repeats: int, rules: ValidatorRules
) -> None:
    """The production failure mode: the same line emitted again and again, however numbered."""
    line = item.splitlines()[0] if item.splitlines() else item
    numbered = "\n".join(f"{n}. {line}" for n in range(1, repeats + 1))
    same_number = "\n".join(f"1. {line}" for _ in range(repeats))
    for text in (numbered, same_number):
        result = validate(domain, text, rules)
        assert not result.ok
        assert {"items_distinct", "items_non_empty", "items_in_order"} & set(result.failed)

"""The shipped rank budget against the schema it generates under."""

from __future__ import annotations

import json
import re

import pytest

from hrstack.tasks.domains import load_domains
from hrstack.validators.config import configs_dir, load_rules
from hrstack.validators.rank import (
    SCORE_CHARS,
    rank_answer_max_chars,
    rank_json_schema,
    rank_properties,
)


def test_rank_max_tokens_covers_the_longest_answer_the_schema_admits():
    """CI once got a rank answer cut off at max_tokens (no decision): the budget must cover the
    schema's worst case, so a config change that breaks this fails here, not in production."""
    rules = load_rules().rank
    domain = load_domains(configs_dir() / "domains.yaml")["rank"]
    assert domain.sampling.max_tokens >= rank_answer_max_chars(rules)


def test_worst_case_is_the_length_of_a_maximal_answer():
    rules = load_rules().rank
    schema = rank_properties(rank_json_schema(rules))["reasons"]
    answer = {
        "decision": "shortlist",
        "score": float("0." + "9" * (SCORE_CHARS - 2)),
        "reasons": ["r" * schema["items"]["maxLength"]] * schema["maxItems"],
    }
    text = json.dumps(answer, separators=(",", ":"))
    # float() rounds the long score, so the real text is no longer than the estimate.
    assert len(text) <= rank_answer_max_chars(rules)
    assert rank_answer_max_chars(rules) - len(text) <= SCORE_CHARS


def test_the_grammar_writes_reasons_before_the_decision():
    """vLLM's xgrammar backend emits properties in schema order: reasons first, so the decision
    is generated after (and conditioned on) the reasons. The compiled grammar must agree."""
    xgrammar = pytest.importorskip("xgrammar")
    schema = rank_json_schema(load_rules().rank)
    assert all(list(b["properties"]) == ["reasons", "decision", "score"] for b in schema["anyOf"])
    grammar = str(xgrammar.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False))
    cases = [line for line in grammar.splitlines() if re.match(r"root_case_\d+ ::=", line)]
    assert len(cases) == 2  # one object per decision
    for case in cases:  # each opens with reasons
        assert '"\\"reasons\\""' in case and '"\\"decision\\""' not in case

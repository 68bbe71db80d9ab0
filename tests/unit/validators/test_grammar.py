"""The grammar algebra's length bookkeeping (validators/grammar.py)."""

from __future__ import annotations

import json
import re
import signal

import pytest

from hrstack.validators.grammar import Alt, Line, Lit, Opt, Seq, numbered, render, seq


def test_spans_add_up_through_sequences_alternatives_and_options() -> None:
    node = seq("a", Alt((Lit("bb"), Lit("cccc"))), Opt(Lit("ddd")))
    assert node.span == (3, 8)


def test_a_deep_grammar_spans_in_linear_time() -> None:
    """Each node's span is read once per parent: reading shortest and longest separately
    recursed twice per level (2^depth), which made a resume list grammar cost ~11 ms a request.
    Depth 60 would take centuries that way; the alarm fails the test instead of hanging."""
    node: Seq = seq("x")
    for _ in range(60):
        node = Seq((node, Alt((Lit("y"), Lit("zz")))))
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("exponential")))
    signal.alarm(5)
    try:
        assert node.span == (61, 121)
    finally:
        signal.alarm(0)


def test_numbered_lists_span_their_item_counts() -> None:
    item = Lit("word")
    lo, hi = numbered(item, 2, 3).span
    assert lo < hi and lo >= 2 * len("word") and hi >= 3 * len("word")


def _as_regex(ebnf: str) -> re.Pattern[str]:
    """The rendered grammar as a Python regex (it only uses classes, bounded repeats, quoted
    literals, groups and alternation), so a test can ask it about any string."""
    rules = dict(line.split(" ::= ", 1) for line in ebnf.strip().splitlines())
    token = re.compile(r'\[(?:\\.|[^\]])*\](?:\{\d+,\d+\})?|"(?:\\.|[^"])*"|\w+|[()|?]')

    def rx(body: str) -> str:
        out = []
        for piece in token.findall(body):
            if piece.startswith("["):
                out.append(piece)
            elif piece.startswith('"'):
                out.append(re.escape(json.loads(piece)))
            elif piece in "()|?":
                out.append("(?:" if piece == "(" else piece)
            else:
                out.append(f"(?:{rx(rules[piece])})")
        return "".join(out)

    return re.compile(rx(rules["root"]))


@pytest.mark.parametrize("prefix", ["ATS K", "ab"])
def test_a_line_can_exclude_a_prefix_in_any_case_and_keep_its_exact_span(prefix: str) -> None:
    line = Line(3, 30, first="A-Za-z0-9", not_prefix=prefix)
    matcher = _as_regex(render(line))
    near = prefix[:-1]  # the longest lines follow the prefix up to its last character
    lengths = [n for n in range(1, 40) for text in (near + "x" * (n - len(near)), "Q" * n)
               if len(text) == n and matcher.fullmatch(text)]  # fmt: skip
    assert (min(lengths), max(lengths)) == line.span == (3, 30)
    padding = "y" * 20
    spaced = prefix.replace(" ", "  ")
    for cased in (prefix, prefix.lower(), prefix.upper(), prefix.replace(" ", "\t"), spaced):
        assert not matcher.fullmatch(cased + padding), cased
    assert matcher.fullmatch(prefix[:-1] + "-" + padding)  # differs at the last character
    assert not matcher.fullmatch("-" + padding)  # the first character's class still holds
    assert matcher.fullmatch("0" + padding)


def test_a_line_too_short_to_exclude_its_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot exclude"):
        Line(10, 12, not_prefix="ATS Keywords")

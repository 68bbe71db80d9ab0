"""The grammar algebra's length bookkeeping (validators/grammar.py)."""

from __future__ import annotations

import signal

from hrstack.validators.grammar import Alt, Lit, Opt, Seq, numbered, seq


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

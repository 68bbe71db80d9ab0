"""Each domain's decoding constraint against the validator it is built from.

The decisive test walks each grammar with the real tokenizer (xgrammar, the library vLLM
enforces constraints with): random tokens among those the grammar allows, until it ends. Every
such answer must pass the checks the constraint claims to guarantee (FORMAT_CHECKS) and the
length check, so "well-formed by construction" is shown, not assumed.
"""

from __future__ import annotations

import random

import pytest

from hrstack.tasks.domains import load_domains
from hrstack.tasks.prompts import assemble_answer, build_payload, domain_constraint
from hrstack.validators import FORMAT_CHECKS, constraint, load_rules, validate
from hrstack.validators.ats_keywords import posting_terms
from hrstack.validators.config import configs_dir
from tests.unit.server import answers as A

RULES = load_rules()
DOMAINS = load_domains(configs_dir() / "domains.yaml")
POSTING = (
    "Senior Data Analyst, Northwind Traders (Berlin, hybrid).\n"
    "About the role: you will own reporting for 40 store managers.\n"
    "Requirements:\n- 4+ years of SQL on Snowflake or BigQuery\n- Python (pandas) and dbt\n"
    "- Tableau or Power BI dashboards\n- A/B testing and experiment design\n"
    "- Stakeholder management across merchandising and finance\n"
    "Nice to have: Airflow, Looker, CI/CD for analytics code, C++ or C# exposure.\n"
)
ATS_OK = " SQL\n2. Snowflake\n3. Python\n4. Tableau\n5. Airflow"  # in posting order
TEXT_DOMAINS = [name for name in DOMAINS.names() if DOMAINS[name].constraint == "grammar"]


def test_every_row_names_the_kind_its_builder_builds() -> None:
    for name in DOMAINS.names():
        cfg = DOMAINS[name]
        built = domain_constraint(cfg, {"job_description": POSTING}, RULES)
        assert built is not None and built.kind == cfg.constraint, name


@pytest.mark.parametrize("name", DOMAINS.names())
def test_every_admitted_answer_fits_the_validator_and_the_token_budget(name: str) -> None:
    cfg = DOMAINS[name]
    # ATS: the longest phrases any posting can offer (max_keyword_chars each).
    long_terms = ". ".join(f"Term{i:02d} alpha bravo charlie{'x' * 40}" for i in range(40))
    posting = long_terms if name == "ats_keywords" else POSTING
    built = domain_constraint(cfg, {"job_description": posting}, RULES)
    assert built is not None and built.max_chars is not None
    assert cfg.sampling.max_tokens >= built.max_chars, "a token is at least one character"
    section = getattr(RULES, cfg.validator)
    if hasattr(section, "min_chars"):
        assert section.min_chars <= built.min_chars and built.max_chars <= section.max_chars


def test_a_threshold_moves_the_grammar_with_the_validator() -> None:
    stricter = RULES.recruiting_strategy.model_copy(update={"min_items": 4, "max_items": 4})
    grammar = str(constraint("recruiting_strategy", RULES, after="1.").spec)
    moved = str(
        constraint(
            "recruiting_strategy", RULES.model_copy(update={"recruiting_strategy": stricter}),
            after="1.",
        ).spec
    )  # fmt: skip
    assert '"\\n4. "' in grammar and '"\\n5. "' in grammar
    assert '"\\n4. "' in moved and '"\\n5. "' not in moved


def test_seeded_grammars_continue_after_the_seed() -> None:
    for name in ("resume_guidance", "recruiting_strategy", "ats_keywords"):
        payload = build_payload(
            DOMAINS[name], {"job_description": POSTING}, model="m", seed=None, rules=RULES
        )
        assert payload["messages"][-1] == {"role": "assistant", "content": "1."}
        assert payload["continue_final_message"] is True
        grammar = payload["structured_outputs"]["grammar"]
        first = grammar.split("\n")[0].removeprefix("root ::= ").lstrip("(")
        assert first.startswith('" " '), first[:40]  # the space after "1."
    unconstrained = build_payload(
        DOMAINS["job_description"], {}, model="m", seed=None, rules=RULES, constrained=False
    )
    assert "structured_outputs" not in unconstrained and "response_format" not in unconstrained


def test_ats_terms_are_verbatim_short_phrases_of_the_posting() -> None:
    terms = posting_terms(POSTING, RULES.ats_keywords)
    assert 10 <= len(terms) <= RULES.ats_keywords.grammar_candidates
    folded = POSTING.casefold()
    for term in terms:
        assert term.casefold() in " ".join(folded.split()) or all(
            word.casefold() in folded for word in term.split()
        ), term
        assert len(term.split()) <= RULES.ats_keywords.max_keyword_words
    for expected in ("SQL", "Snowflake", "Tableau", "C++", "C#", "CI/CD", "A/B testing"):
        assert expected in terms, (expected, terms)


@pytest.fixture(scope="module")
def compiler():
    xgrammar = pytest.importorskip("xgrammar")
    from transformers import AutoTokenizer

    from hrstack.server import embedded_model
    from hrstack.server.settings import Settings

    tokenizer = AutoTokenizer.from_pretrained(
        embedded_model.prepare(Settings().cache_dir, embedded_model.FASTEST)
    )
    info = xgrammar.TokenizerInfo.from_huggingface(
        tokenizer, stop_token_ids=[tokenizer.eos_token_id]
    )
    return xgrammar, tokenizer, xgrammar.GrammarCompiler(info)


def _walk(xgrammar, tokenizer, compiled, rng: random.Random, newline_bias: float) -> str:
    """A random answer the grammar admits: tokens drawn among the allowed ones, with some
    preference for line ends so walks are not all maximal."""
    import torch

    matcher = xgrammar.GrammarMatcher(compiled)
    mask = xgrammar.allocate_token_bitmask(1, compiled.tokenizer_info.vocab_size)
    out: list[int] = []
    newline = set(tokenizer.encode("\n"))
    for _ in range(4000):
        if matcher.is_terminated():
            break
        matcher.fill_next_token_bitmask(mask)
        logits = torch.rand(compiled.tokenizer_info.vocab_size, generator=None)
        for token in newline:
            logits[token] += newline_bias
        logits[tokenizer.eos_token_id] += newline_bias
        xgrammar.apply_token_bitmask_inplace(logits.unsqueeze(0), mask)
        token = int(torch.argmax(logits))
        assert matcher.accept_token(token)
        if token != tokenizer.eos_token_id:
            out.append(token)
    assert matcher.is_terminated(), "the grammar did not end"
    return str(tokenizer.decode(out))


@pytest.mark.parametrize("name", TEXT_DOMAINS)
def test_random_answers_under_the_grammar_pass_the_format_checks(compiler, name: str) -> None:
    xgrammar, tokenizer, grammar_compiler = compiler
    cfg = DOMAINS[name]
    fields = {"job_description": POSTING}
    built = domain_constraint(cfg, fields, RULES)
    assert built is not None
    compiled = grammar_compiler.compile_grammar(str(built.spec))
    rng = random.Random(7)
    for walk in range(6):
        import torch

        torch.manual_seed(walk)
        text = assemble_answer(cfg, _walk(xgrammar, tokenizer, compiled, rng, walk / 3))
        result = validate(cfg.validator, text, RULES, fields)
        broken = [c for c in result.checks if c.name in FORMAT_CHECKS[name] and not c.ok]
        assert not broken, (text, broken)
        length = next((c for c in result.checks if c.name == "length"), None)
        assert length is None or length.ok, (text, length)  # ATS lists have no length check
        if cfg.seed:
            assert text.startswith("1. ") and not text.startswith("1. 1.")


@pytest.mark.parametrize(
    ("name", "answer", "fields"),
    [
        ("resume_guidance", A.RESUME_OK, {}),
        ("recruiting_strategy", A.STRATEGY_OK, {}),
        ("job_description", A.JD_OK, {}),
        ("job_resume_match", A.MATCH_OK, {}),
        ("ats_keywords", ATS_OK, {"job_description": POSTING}),
    ],
)  # fmt: skip
def test_the_grammar_admits_well_formed_answers(compiler, name, answer, fields) -> None:
    xgrammar, tokenizer, grammar_compiler = compiler
    built = domain_constraint(DOMAINS[name], fields, RULES)
    assert built is not None
    matcher = xgrammar.GrammarMatcher(grammar_compiler.compile_grammar(str(built.spec)))
    assert matcher.accept_string(answer), answer
    assert matcher.accept_token(tokenizer.eos_token_id)  # and the answer may end there
    assert matcher.is_terminated()


def test_the_ats_grammar_makes_repeats_impossible(compiler) -> None:
    """Keywords come in posting order, so a list cannot name one twice (or go back)."""
    xgrammar, _, grammar_compiler = compiler
    built = domain_constraint(DOMAINS["ats_keywords"], {"job_description": POSTING}, RULES)
    assert built is not None
    compiled = grammar_compiler.compile_grammar(str(built.spec))
    for bad in (" SQL\n2. SQL", " Snowflake\n2. SQL", " SQL\n3. Python", " Dancing"):
        assert not xgrammar.GrammarMatcher(compiled).accept_string(bad), bad


def test_a_resume_tip_cannot_be_the_keyword_line(compiler) -> None:
    """Qwen2.5 wrote "3. ATS Keywords: ..." among its tips; the grammar leaves no path to it in
    any case or spacing, while tips that merely start like it stay possible."""
    xgrammar, _, grammar_compiler = compiler
    built = domain_constraint(DOMAINS["resume_guidance"], {}, RULES)
    assert built is not None
    compiled = grammar_compiler.compile_grammar(str(built.spec))
    tip = " Lead with a two-line summary tailored to the role you want.\n2. "
    bad_tips = ("ATS Keywords: SQL", "ats keywords: SQL", "ATS\tKeywords", "ATS  Keywords")
    for bad in bad_tips:
        assert not xgrammar.GrammarMatcher(compiled).accept_string(tip + bad), bad
    for fine in ("ATS-friendly formatting: plain headings", "ATS systems read plain text", "As"):
        assert xgrammar.GrammarMatcher(compiled).accept_string(tip + fine), fine

"""Rank: a machine-read shortlist/reject verdict as one JSON object.

Shape: ``{"decision": "shortlist" | "reject", "score": <number in [0, 1]>, "reasons": [str, ...]}``
with exactly those keys (a ```json fence and surrounding whitespace are tolerated; duplicate
keys and NaN/Infinity are not, because strict JSON parsers downstream reject them). The decision
must agree with the score (``shortlist`` iff ``score >= shortlist_min_score``) so the two fields
can never tell a client different things.

Reasons are checked against the request (``context["job_description"]`` and
``context["candidate"]``) because a ranker that invents facts or pastes the input is worse than
none:

* not copied: a reason of at least ``copied_min_chars`` characters that appears verbatim in the
  inputs (case-insensitive, line breaks/tabs/space runs collapsed, trailing ``.;!`` ignored)
  fails;
* grounded: every number, and every word with a capital letter, must occur in the inputs as a
  whole word (case-insensitive). This is a heuristic for "names a real skill, employer or
  figure": the first word of each sentence is skipped (it is capitalised by grammar), as are the
  configured ``grounding_stopwords`` ("I", "Candidate", ...) and a possessive "'s". The
  evidence block the gateway read from the two texts (``context["evidence"]``) counts here, and
  only here: a figure it computed ("Years: 2.6 of 5 required") is one the model was given, and
  the base Qwen2.5-0.5B citing "2.6 years" was the one first rank answer of 48 that failed (issue
  11's benchmark). Copying and specificity are still judged against the two texts alone, so the
  block's template words ("falls short", "missing") never make a reason specific.

* distinct: no reason repeats another (case, spacing and edge punctuation aside);
* specific: every reason shares at least one word of 4+ letters, outside the configured
  ``generic_words``, with the inputs, so a reason copied from a prompt example fails.

Without context (or with neither key) these checks pass with detail "no context".

* no protected attributes: no reason uses a word of the configured ``protected_terms`` (gender,
  age, marital status, nationality, religion, ...), whatever the inputs say: a decision that
  cites one is one a hiring audit must reject, even when the resume volunteered it. This check
  needs no context, and passes vacuously when there are no reasons (``reasons_count`` fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hrstack.validators.base import Check, ValidationResult
from hrstack.validators.checks import (
    collapse_spaces,
    distinct_check,
    occurs_as_word,
    skipped,
    specific_words,
)
from hrstack.validators.grammar import Constraint
from hrstack.validators.protected import no_protected_check
from hrstack.validators.rules import RankRules

DOMAIN = "rank"
#: The checks about the answer's shape, not its content (training's format reward uses them).
SCHEMA_CHECKS = (
    "json_object",
    "keys_exact",
    "decision_value",
    "score_range",
    "decision_matches_score",
    "reasons_count",
    "reasons_valid",
)
#: The checks the JSON schema makes true by construction (the self-check proves it): all the
#: shape checks but reasons_valid, whose "not blank" the schema's minLength cannot say.
FORMAT_CHECKS = tuple(name for name in SCHEMA_CHECKS if name != "reasons_valid")
CHECKS = (
    *SCHEMA_CHECKS,
    "reasons_not_copied",
    "reasons_grounded",
    "reasons_specific",
    "reasons_distinct",
    "reasons_no_protected_attributes",
)
#: The checks that compare reasons with each other and the inputs (skipped without reasons).
CONTENT_CHECKS = CHECKS[6:10]
KEYS = frozenset({"decision", "score", "reasons"})
DECISIONS = ("shortlist", "reject")
CONTEXT_KEYS = ("job_description", "candidate")
EVIDENCE_KEY = "evidence"  # what the gateway read from both texts: a grounding source only

# A term inside a whitespace-separated word: letters/digits joined by ' ’ . ("Node.js", "O'Neil"),
# keeping a trailing + or # ("C++", "C#"); other punctuation separates terms ("Python/Go").
_TERM = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*[+#]*")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}“”‘’"


def validate(
    text: str, rules: RankRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check a rank verdict; ``context`` supplies the inputs reasons are compared against."""
    obj, detail = _load_object(text)
    if obj is None:
        failed = [Check("json_object", False, detail)]
        failed += [skipped(name, "not a JSON object") for name in CHECKS[1:]]
        parsed_nothing = {"decision": None, "score": None, "reasons": None}
        return ValidationResult(DOMAIN, tuple(failed), parsed_nothing)
    decision, score, reasons = obj.get("decision"), obj.get("score"), obj.get("reasons")
    checks = (
        Check("json_object", True, detail),
        _keys_exact(obj),
        _decision_value(obj),
        _score_range(obj),
        _decision_matches_score(decision, score, rules.shortlist_min_score),
        _reasons_count(obj, rules),
        *_reason_content_checks(
            reasons, rules, _haystack(context), _haystack(context, (EVIDENCE_KEY,))
        ),
        _reasons_distinct(reasons),
        _no_protected_attributes(reasons, rules.protected_terms),
    )
    return ValidationResult(
        DOMAIN, checks, {"decision": decision, "score": score, "reasons": reasons}
    )


def requirements(rules: RankRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        'Exactly one JSON object (a ```json fence is allowed) with exactly the keys "decision", '
        '"score" and "reasons".',
        '"decision" is "shortlist" or "reject"; "score" is a number from 0 to 1.',
        f'"decision" is "shortlist" if and only if "score" >= {rules.shortlist_min_score}.',
        f'"reasons" is a list of {rules.min_reasons} to {rules.max_reasons} non-empty strings, '
        f"each at most {rules.max_reason_chars} characters.",
        f"No reason of {rules.copied_min_chars}+ characters is copied verbatim from the job "
        "description or candidate text.",
        "Every number, and every capitalised word that does not start a sentence, appears in "
        "the job description, the candidate text or the evidence block.",
        "Every reason shares at least one specific word (4+ letters, not generic like "
        "'candidate' or 'experience') with the job description or candidate text.",
        "No reason mentions a protected attribute (" + ", ".join(rules.protected_terms) + ").",
        "No reason repeats another.",
    ]


def _load_object(text: str) -> tuple[dict[str, Any] | None, str]:
    body, fenced = _unfence(text.strip())
    try:
        value = json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        return None, f"not one JSON object: {exc!s:.120}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {type(value).__name__}"
    return value, "fenced JSON object" if fenced else "JSON object"


def _unfence(body: str) -> tuple[str, bool]:
    """Drop a ```json ... ``` (or bare ```) fence; str methods, as this runs on every call."""
    if len(body) < 6 or not (body.startswith("```") and body.endswith("```")):
        return body, False
    inner = body[3:-3]
    if inner[:4].lower() == "json":
        inner = inner[4:]
    return inner, True


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key in object")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _keys_exact(obj: Mapping[str, Any]) -> Check:
    missing = sorted(KEYS - obj.keys())
    extra = sorted(obj.keys() - KEYS)
    if missing or extra:
        return Check("keys_exact", False, f"missing {missing}, unexpected {extra}")
    return Check("keys_exact", True, "decision, score, reasons")


def _decision_value(obj: Mapping[str, Any]) -> Check:
    if "decision" not in obj:
        return skipped("decision_value", "no 'decision' key")
    decision = obj["decision"]
    if decision in DECISIONS:
        return Check("decision_value", True, decision)
    return Check("decision_value", False, f"{decision!r:.40} is not 'shortlist' or 'reject'")


def _is_unit_score(score: Any) -> bool:
    return isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1


def _score_range(obj: Mapping[str, Any]) -> Check:
    if "score" not in obj:
        return skipped("score_range", "no 'score' key")
    score = obj["score"]
    if isinstance(score, bool) or not isinstance(score, int | float):
        return Check("score_range", False, f"score must be a number, got {type(score).__name__}")
    return Check("score_range", 0 <= score <= 1, f"{score} (allowed 0..1)")


def _decision_matches_score(decision: Any, score: Any, threshold: float) -> Check:
    if decision not in DECISIONS or not _is_unit_score(score):
        return skipped("decision_matches_score", "needs a valid decision and score")
    expected = "shortlist" if score >= threshold else "reject"
    return Check(
        "decision_matches_score",
        decision == expected,
        f"score {score} means {expected!r} (shortlist iff score >= {threshold})",
    )


def _reasons_count(obj: Mapping[str, Any], rules: RankRules) -> Check:
    if "reasons" not in obj:
        return skipped("reasons_count", "no 'reasons' key")
    reasons = obj["reasons"]
    if not isinstance(reasons, list):
        return Check(
            "reasons_count", False, f"reasons must be a list, got {type(reasons).__name__}"
        )
    count = len(reasons)
    return Check(
        "reasons_count",
        rules.min_reasons <= count <= rules.max_reasons,
        f"{count} reasons (allowed {rules.min_reasons}..{rules.max_reasons})",
    )


def _reason_content_checks(
    reasons: Any, rules: RankRules, haystack: str | None, evidence: str | None = None
) -> list[Check]:
    """``reasons_valid``, ``_not_copied``, ``_grounded`` and ``_specific``, in that order;
    ``evidence`` (folded like ``haystack``) grounds terms, nothing else."""
    if not isinstance(reasons, list):
        why = "'reasons' is not a list"
        return [skipped(name, why) for name in CONTENT_CHECKS]
    # Only well-formed reasons are compared with the inputs: the rest already fail
    # reasons_count / reasons_valid, and this bounds the work on runaway output.
    texts = [
        reason
        for reason in reasons[: rules.max_reasons]
        if isinstance(reason, str) and reason.strip() and len(reason) <= rules.max_reason_chars
    ]
    if haystack is None:
        context_checks = [
            Check("reasons_not_copied", True, "no context"),
            Check("reasons_grounded", True, "no context"),
            Check("reasons_specific", True, "no context"),
        ]
    else:
        context_checks = [
            _not_copied(texts, haystack, rules.copied_min_chars),
            _grounded(texts, f"{haystack}\x00{evidence or ''}", rules.grounding_stopwords),
            _specific(texts, haystack, rules.generic_words),
        ]
    return [_reasons_valid(reasons, rules.max_reason_chars), *context_checks]


def _reasons_distinct(reasons: Any) -> Check:
    """Measured on the base 135M model: "The candidate has no warehouse experience." four times
    over filled the reasons list; a repeated reason adds no evidence."""
    if not isinstance(reasons, list):
        return skipped("reasons_distinct", "'reasons' is not a list")
    texts = [reason for reason in reasons if isinstance(reason, str)]
    return distinct_check(texts, "reasons_distinct", "reason")


def _reasons_valid(reasons: list[Any], max_chars: int) -> Check:
    for position, reason in enumerate(reasons, start=1):
        if not isinstance(reason, str):
            return Check("reasons_valid", False, f"reason {position} is a {type(reason).__name__}")
        if not reason.strip():
            return Check("reasons_valid", False, f"reason {position} is empty")
        if len(reason) > max_chars:
            return Check(
                "reasons_valid",
                False,
                f"reason {position} has {len(reason)} chars (max {max_chars})",
            )
    return Check("reasons_valid", True, "non-empty strings within the length limit")


def _haystack(
    context: Mapping[str, str] | None, keys: tuple[str, ...] = CONTEXT_KEYS
) -> str | None:
    """The inputs under ``keys``, case-folded with whitespace collapsed; NUL keeps them apart."""
    if not context:
        return None
    parts = [context.get(key) for key in keys]
    texts = [collapse_spaces(part.casefold()) for part in parts if isinstance(part, str)]
    return "\x00".join(texts) if texts else None


def _not_copied(reasons: list[str], haystack: str, min_chars: int) -> Check:
    for position, reason in enumerate(reasons, start=1):
        if len(reason) < min_chars:
            continue  # collapsing spaces only shortens it
        needle = collapse_spaces(reason.casefold()).rstrip(".;!")
        if len(needle) >= min_chars and needle in haystack:
            return Check("reasons_not_copied", False, f"reason {position} is copied from the input")
    return Check("reasons_not_copied", True, "no reason is copied from the input")


def _grounded(reasons: list[str], haystack: str, stopwords: frozenset[str]) -> Check:
    missing = [
        term for reason in reasons for term in _ungrounded_terms(reason, haystack, stopwords)
    ]
    if missing:
        shown = ", ".join(dict.fromkeys(missing))
        return Check("reasons_grounded", False, f"not in the inputs: {shown:.120}")
    return Check("reasons_grounded", True, "names and numbers appear in the inputs")


def _ungrounded_terms(reason: str, haystack: str, stopwords: frozenset[str]) -> list[str]:
    """Numbers and capitalised words of ``reason`` that the inputs do not contain.

    Works word by word with str methods (all-lowercase words are skipped with one C call); only
    words with inner punctuation ("Python/Django", "C++", "Stripe's") go through the regex.
    """
    missing: list[str] = []
    previous = ""
    for word in reason.split():
        if not word.islower():
            core = word.strip(_EDGE_PUNCTUATION)
            terms = (core,) if core.isalnum() else _TERM.findall(word)
            at_sentence_start = not previous or previous[-1] in ".!?"
            for index, term in enumerate(terms):
                if not _grounded_term(term, index == 0 and at_sentence_start, haystack, stopwords):
                    missing.append(term)
        previous = word
    return missing


def _grounded_term(
    term: str, starts_sentence: bool, haystack: str, stopwords: frozenset[str]
) -> bool:
    key = term.casefold()
    if term[0].isdigit():
        key = key.rstrip("+#")  # "5+ years" is grounded by "5 years"
    elif term == key or starts_sentence:
        return True  # lowercase, or capitalised by grammar rather than because it is a name
    if key.endswith(("'s", "’s")):
        key = key[:-2]
    return key in stopwords or occurs_as_word(key, haystack)


def _specific(reasons: list[str], haystack: str, generic: frozenset[str]) -> Check:
    """Each reason shares a specific word with the inputs: a reason copied from a prompt's
    example ("no forklift license") or made of stock phrases cites nothing about this pair."""
    for position, reason in enumerate(reasons, start=1):
        words = specific_words(reason, generic)
        if not any(occurs_as_word(word, haystack) for word in words):
            return Check(
                "reasons_specific", False, f"reason {position} cites nothing from the inputs"
            )
    return Check("reasons_specific", True, "every reason cites a word from the inputs")


def _no_protected_attributes(reasons: Any, terms: Mapping[str, frozenset[str]]) -> Check:
    if isinstance(reasons, str):
        reasons = [reasons]
    texts = [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else []
    return no_protected_check("reasons_no_protected_attributes", "reason", texts, terms)


def rank_json_schema(rules: RankRules) -> dict[str, Any]:
    """The schema vLLM enforces for rank answers, derived from the validator's own limits.

    Reasons come first: the grammar writes properties in schema order, so the model states
    what it read (a missing must-have, the years) before it commits to a decision, and the
    decision is conditioned on its own reasons instead of preceding them. The object a client
    gets has the same keys either way.

    One branch per decision (``anyOf``), each with the score range that decision means
    (``shortlist`` iff ``score >= shortlist_min_score``), so ``decision_matches_score`` holds
    by construction: measured on the base 135M model, 1 of 32 answers said "shortlist" with a
    score of 0.15, and a client reading either field would have been told the opposite."""
    threshold = rules.shortlist_min_score
    ranges = {
        "shortlist": {"minimum": threshold, "maximum": 1},
        "reject": {"minimum": 0, "exclusiveMaximum": threshold},
    }
    return {
        "anyOf": [
            _verdict_object(rules, decision, score)
            for decision, score in ranges.items()
            if decision == "shortlist" or threshold > 0  # reject has no score when threshold is 0
        ]
    }


def rank_properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of a rank schema's first branch (every branch has the same keys, in the
    same order; only ``decision`` and ``score``'s range differ)."""
    return dict(schema["anyOf"][0]["properties"])


def _verdict_object(rules: RankRules, decision: str, score: dict[str, float]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "reasons": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": rules.max_reason_chars},
                "minItems": rules.min_reasons,
                "maxItems": rules.max_reasons,
            },
            "decision": {"type": "string", "enum": [decision]},
            "score": {"type": "number", **score},
        },
        "required": ["reasons", "decision", "score"],
        "additionalProperties": False,
    }


#: Characters allowed for the score in the worst-case estimate: JSON numbers are unbounded in
#: the grammar, and a model that spins on digits is the one risk the schema cannot close.
SCORE_CHARS = 24


def rank_answer_max_chars(rules: RankRules) -> int:
    """The longest compact-JSON rank answer the schema admits (ASCII text, score of
    ``SCORE_CHARS``). A token is at least one character, so a ``max_tokens`` at or above this
    never cuts a well-formed answer off mid-JSON, which would leave the client with no decision."""
    longest = {
        "decision": "shortlist",
        "score": 0,
        "reasons": ["x" * rules.max_reason_chars] * rules.max_reasons,
    }
    return len(json.dumps(longest, separators=(",", ":"))) - 1 + SCORE_CHARS


def constraint(
    rules: RankRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """The rank answer's JSON schema (sent as ``response_format``), bounded like the rest."""
    return Constraint(
        "json_schema",
        rank_json_schema(rules),
        min_chars=0,
        max_chars=rank_answer_max_chars(rules),
        seeded_after=after,
    )

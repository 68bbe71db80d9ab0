"""Real-sized HR documents for the integration tests, the load test and the benchmark.

Short inputs hid a crash: real postings run to ~6,500 characters at the 90th percentile and CVs
to ~3,300, and only documents that long reach the code paths that break on them. Everything
here is deterministic (same seed, same text) and written from the synthetic facts of
training/synth_docs.py (``make_job``, ``make_candidate``), so a posting's must-haves are the
job's own skills and a CV's dated roles add up to the years it states: no integrity flag
fires unless a test plants one. tests/realdocs_writer.py says how a document is written.

    from tests import realdocs
    text = realdocs.posting(7, 6_500)        # 6,500 characters, give or take 10%
    body = realdocs.rank_body(7)              # {"job_description": ..., "candidate": ...}
    bodies = realdocs.max_bodies()            # per path, every field at its max_length
    pair = realdocs.rank_pair_for_tokens(7, lo=2500, hi=3500, count_tokens=count)

``count`` takes the chat messages (``rank_messages`` builds them as the gateway does) and
returns their token count: the served tokenizer's
``len(tokenizer.apply_chat_template(m, add_generation_prompt=True)["input_ids"])`` (transformers
5 returns a BatchEncoding), or the ``count`` of vLLM's ``POST /tokenize`` with ``messages``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from hrstack.server.protocol import (
    AtsKeywordsRequest,
    CandidateIn,
    JobDescriptionRequest,
    MatchRequest,
    RankRequest,
    RecruitingStrategyRequest,
    ResumeGuidanceRequest,
)
from hrstack.training.synth_docs import YEAR, Job, listed, make_candidate, make_job
from hrstack.training.synth_vocab import HIRING_CONSTRAINTS
from tests import realdocs_phrases as ph
from tests.realdocs_writer import (
    SENIOR_WORDS,
    Section,
    Writer,
    an,
    fit,
    grow,
    posting_sections,
    resume_sections,
)

Seed = int | random.Random
Messages = list[dict[str, str]]
#: Tokens of a chat prompt: the served tokenizer's chat template, or vLLM's /tokenize.
TokenCounter = Callable[[Messages], int]

#: Lengths the generators write within 10% of (real documents span about this).
POSTING_CHARS = (3_000, 14_000)
RESUME_CHARS = (2_000, 6_000)
NOTES_CHARS = (200, 1_200)
#: 90th-percentile lengths of real documents: the defaults of the body helpers.
P90_POSTING, P90_RESUME, P90_NOTES = 6_500, 3_300, 800
#: Evidence is computed as of this day, after every generated date, so prompts never drift.
TODAY = date(YEAR, 12, 31)

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "/v1/resume-guidance": ResumeGuidanceRequest,
    "/v1/job-description": JobDescriptionRequest,
    "/v1/match": MatchRequest,
    "/v1/recruiting-strategy": RecruitingStrategyRequest,
    "/v1/ats-keywords": AtsKeywordsRequest,
    "/v1/rank": RankRequest,
}
#: Fields that hold a CV; every other field is filled with posting-like text.
_RESUME_FIELDS = frozenset({"resume", "candidate"})
#: Fields this short are titles and ids: written on one line.
_ONE_LINE_CHARS = 200


def _rng(seed: Seed) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


def _check(what: str, chars: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= chars <= bounds[1]:
        raise ValueError(
            f"{what} of {chars} characters asked; real ones span {bounds[0]}-{bounds[1]}, so "
            "ask within that (max_field() writes longer text for max-length bodies)"
        )


def posting(seed: Seed, chars: int = P90_POSTING) -> str:
    """A job posting of ``chars`` characters (within 10%), 3,000 to 14,000, for a random job."""
    _check("a posting", chars, POSTING_CHARS)
    rng = _rng(seed)
    return fit(posting_sections(rng, make_job(rng)), chars)


def resume(seed: Seed, chars: int = P90_RESUME) -> str:
    """A CV of ``chars`` characters (within 10%), 2,000 to 6,000, for a random candidate."""
    _check("a resume", chars, RESUME_CHARS)
    rng = _rng(seed)
    return fit(resume_sections(rng, make_candidate(rng)), chars)


@cache
def max_field(
    chars: int = 20_000,
    *,
    seed: int = 0,
    kind: Literal["posting", "resume"] = "posting",
    one_line: bool = False,
) -> str:
    """Exactly ``chars`` characters, none of them edge whitespace (the API strips before it
    counts): whole postings (or CVs) of successive seeds, the last one cut short."""
    parts: list[str] = []
    while sum(len(p) + 2 for p in parts) < chars + 2:
        step = seed + len(parts)
        parts.append(posting(step, 14_000) if kind == "posting" else resume(step, 6_000))
    text = "\n\n".join(parts)
    if one_line:
        text = " ".join(text.split())
    text = text[:chars].rstrip()  # a cut on a line break ends on full stops instead
    return text + "." * (chars - len(text))


# --- request bodies ------------------------------------------------------------------------------
def _pair(seed: Seed) -> tuple[Job, list[Section], list[Section]]:
    """A job and a candidate drawn for it (synth_docs.make_candidate: a random fit), written."""
    rng = _rng(seed)
    job = make_job(rng)
    cand = make_candidate(rng, job)
    return job, posting_sections(rng, job), resume_sections(rng, cand, job)


def _notes(rng: random.Random, job: Job, core: list[str], templates: tuple[str, ...]) -> Section:
    slots = {"company": job.company, "industry": job.industry, "city": job.city,
             "mode": job.mode, "title": job.title, "area": job.role.area}  # fmt: skip
    written = Writer(rng, job.role, slots, job.role.skills).new(templates)
    return Section(None, "lines", grow(core + written, 1, core=len(core)))


def resume_guidance_body(seed: Seed = 0, resume_chars: int = P90_RESUME) -> dict[str, str]:
    _check("a resume", resume_chars, RESUME_CHARS)
    rng = _rng(seed)
    cand = make_candidate(rng)
    target = f"Senior {cand.title}" if cand.title.endswith(SENIOR_WORDS) else cand.title
    return {"resume": fit(resume_sections(rng, cand), resume_chars), "target_role": target}


def job_description_body(seed: Seed = 0, details_chars: int = P90_NOTES) -> dict[str, str]:
    """Title, one-line company context, and a recruiter's notes: team, stack, must-haves."""
    _check("details", details_chars, NOTES_CHARS)
    rng = _rng(seed)
    job = make_job(rng)
    must = f"Must-haves: {listed(job.required)}; {job.min_years}+ years of {job.role.area}."
    nice = f"Nice to have: {listed(job.preferred)}." if job.preferred else None
    notes = _notes(rng, job, [must, *([nice] if nice else [])], ph.NOTES)
    return {
        "title": job.title,
        "company": f"{job.company}, {an(job.industry)} company in {job.city}",
        "details": fit([notes], details_chars),
    }


def recruiting_strategy_body(seed: Seed = 0, context_chars: int = P90_NOTES) -> dict[str, str]:
    """A role and its hiring constraints: headcount, timeline, budget, place, market."""
    _check("context", context_chars, NOTES_CHARS)
    rng = _rng(seed)
    job = make_job(rng)
    constraints = [
        text.replace("{pct}", str(rng.randint(8, 30)))
        for key, text in HIRING_CONSTRAINTS
        if key != "remote" or job.mode == "remote"  # "fully remote" only where it is
    ]
    notes = _notes(rng, job, rng.sample(constraints, 2), ph.CONTEXT)
    return {"role": f"{job.title} ({job.mode}, {job.city})", "context": fit([notes], context_chars)}


def _sized(seed: Seed, posting_chars: int, resume_chars: int) -> tuple[str, str]:
    _check("a posting", posting_chars, POSTING_CHARS)
    _check("a resume", resume_chars, RESUME_CHARS)
    _, job_sections, cv_sections = _pair(seed)
    return fit(job_sections, posting_chars), fit(cv_sections, resume_chars)


def match_body(
    seed: Seed = 0, posting_chars: int = P90_POSTING, resume_chars: int = P90_RESUME
) -> dict[str, str]:
    job, cv = _sized(seed, posting_chars, resume_chars)
    return {"job_description": job, "resume": cv}


def rank_body(
    seed: Seed = 0, posting_chars: int = P90_POSTING, resume_chars: int = P90_RESUME
) -> dict[str, str]:
    job, cv = _sized(seed, posting_chars, resume_chars)
    return {"job_description": job, "candidate": cv}


def ats_keywords_body(seed: Seed = 0, posting_chars: int = P90_POSTING) -> dict[str, str]:
    return {"job_description": posting(seed, posting_chars)}


def bodies(seed: int = 0) -> dict[str, dict[str, str]]:
    """One body per task path, documents at their 90th-percentile lengths."""
    return {
        "/v1/resume-guidance": resume_guidance_body(seed),
        "/v1/job-description": job_description_body(seed),
        "/v1/match": match_body(seed),
        "/v1/recruiting-strategy": recruiting_strategy_body(seed),
        "/v1/ats-keywords": ats_keywords_body(seed),
        "/v1/rank": rank_body(seed),
    }


# --- maximum-length bodies -----------------------------------------------------------------------
def _schema_limit(prop: dict[str, Any], key: str) -> int | None:
    for option in [prop, *prop.get("anyOf", [])]:
        if key in option:
            return int(option[key])
    return None


def max_lengths(model: type[BaseModel]) -> dict[str, int]:
    """Each string field's max_length, read from the model's JSON schema, so a bound changed in
    server/protocol.py changes here too. Lists (RankRequest.candidates) are left out."""
    props = model.model_json_schema()["properties"]
    limits = {name: _schema_limit(prop, "maxLength") for name, prop in props.items()}
    return {name: limit for name, limit in limits.items() if limit is not None}


def _max_text(name: str, limit: int, seed: int = 0) -> str:
    kind: Literal["posting", "resume"] = "resume" if name in _RESUME_FIELDS else "posting"
    return max_field(limit, seed=seed, kind=kind, one_line=limit <= _ONE_LINE_CHARS)


def max_bodies() -> dict[str, dict[str, str]]:
    """Per task path, a body with every field at its max_length (for /v1/rank: the single
    ``candidate`` form with ``candidate_id``; ``max_rank_batch_body`` is the list form)."""
    return {
        path: {name: _max_text(name, limit) for name, limit in max_lengths(model).items()}
        for path, model in REQUEST_MODELS.items()
    }


def max_rank_batch_body() -> dict[str, Any]:
    """/v1/rank with the most ``candidates`` allowed, each id and resume at its max_length
    (~1 MB of JSON: settings.max_body_bytes is sized to hold it)."""
    count = _schema_limit(RankRequest.model_json_schema()["properties"]["candidates"], "maxItems")
    assert count is not None, "RankRequest.candidates has no max_length"
    limits = max_lengths(CandidateIn)
    candidates = [
        {"id": f"{i:02d}-{_max_text('id', limits['id'] - 3, seed=100 * i)}",
         "resume": _max_text("resume", limits["resume"], seed=100 * i)}
        for i in range(count)
    ]  # fmt: skip
    job = _max_text("job_description", max_lengths(RankRequest)["job_description"])
    return {"job_description": job, "candidates": candidates}


# --- token-aware sizing --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SizedRankPair:
    job_description: str
    candidate: str
    tokens: int  # what count_tokens said of its chat prompt

    def body(self) -> dict[str, str]:
        return {"job_description": self.job_description, "candidate": self.candidate}


@cache
def _rank_setup() -> tuple[Any, Any, Any]:
    # Imported here: the gateway's service layer is only needed to size rank prompts, and the
    # document generators above stay usable where it is not installed.
    from hrstack.tasks.domains import load_domains
    from hrstack.tasks.redaction import REDACTION_CATEGORIES, Redactor
    from hrstack.validators import load_rules
    from hrstack.validators.config import configs_dir
    from hrstack.validators.evidence_rules import load_evidence_rules

    domain = load_domains(configs_dir() / "domains.yaml")["rank"]
    redactor = Redactor(REDACTION_CATEGORIES, load_rules().rank.protected_terms)
    return domain, redactor, load_evidence_rules()


def rank_messages(job_description: str, resume: str) -> Messages:
    """The chat messages the gateway sends vLLM for one rank pair, built by its own code
    (screened, redacted with every category, evidence block added; as of ``TODAY``)."""
    from hrstack.tasks.prompts import build_messages
    from hrstack.tasks.rank_input import prepare_rank_input

    domain, redactor, evidence_rules = _rank_setup()
    prepared = prepare_rank_input(
        job_description,
        resume,
        neutralize=True,
        redactor=redactor,
        evidence_rules=evidence_rules,
        today=TODAY,
        tags=frozenset(domain.fields),
    )
    return build_messages(domain, prepared.fields)


def _split(total: int) -> tuple[int, int]:
    """Posting and CV characters for ``total``, in the 90th-percentile ratio, within range."""
    share = P90_POSTING / (P90_POSTING + P90_RESUME)
    post = min(max(round(total * share), POSTING_CHARS[0]), POSTING_CHARS[1])
    return post, min(max(total - post, RESUME_CHARS[0]), RESUME_CHARS[1])


def _next_total(
    below: tuple[int, int] | None, above: tuple[int, int] | None, target: float
) -> int | None:
    """Regula falsi on (characters, tokens): interpolate inside the bracket once there is one,
    scale proportionally towards it before; None when no untried size is left."""
    smallest, largest = POSTING_CHARS[0] + RESUME_CHARS[0], POSTING_CHARS[1] + RESUME_CHARS[1]
    if below and above:
        (c0, t0), (c1, t1) = below, above
        guess = round(c0 + (target - t0) * (c1 - c0) / max(t1 - t0, 1))
        return min(max(guess, c0 + 1), c1 - 1) if c1 - c0 > 1 else None
    point = below or above
    assert point is not None, "called after a first measurement"
    chars, tokens = point
    if (below and chars >= largest) or (above and chars <= smallest):
        return None
    guess = round(chars * target / max(tokens, 1))
    return min(max(guess, chars + 1), largest) if below else max(min(guess, chars - 1), smallest)


def rank_pair_for_tokens(
    seed: Seed,
    lo: int = 2_500,
    hi: int = 3_500,
    *,
    count_tokens: TokenCounter,
    messages: Callable[[str, str], Messages] = rank_messages,
    max_calls: int = 24,
) -> SizedRankPair:
    """A rank pair (a job and a candidate for it) whose chat prompt is ``lo``-``hi`` tokens by
    ``count_tokens``: one draw of facts, written longer or shorter (in the 90th-percentile
    posting/CV ratio) until the count lands. Characters per token vary with the text (skill
    lists split finer than prose), so the count is asked, not estimated."""
    if not 0 < lo <= hi:
        raise ValueError(f"token range {lo}-{hi} is empty; give 0 < lo <= hi")
    _, job_sections, cv_sections = _pair(seed)
    below = above = None
    total: int | None = P90_POSTING + P90_RESUME
    for _ in range(max_calls):
        if total is None:
            break
        post, cv = _split(total)
        job, text = fit(job_sections, post), fit(cv_sections, cv)
        pair = SizedRankPair(job, text, count_tokens(messages(job, text)))
        if lo <= pair.tokens <= hi:
            return pair
        if pair.tokens < lo:
            below = (total, pair.tokens)
        else:
            above = (total, pair.tokens)
        total = _next_total(below, above, (lo + hi) / 2)
    raise ValueError(f"no size of this pair has a {lo}-{hi} token prompt: {_misses(below, above)}")


def _misses(below: tuple[int, int] | None, above: tuple[int, int] | None) -> str:
    if below and above:
        return (
            f"{below[0]} characters give {below[1]} tokens and {above[0]} give {above[1]}; "
            "one bullet more or less jumps over the range, so widen it"
        )
    if above:
        return f"even the shortest pair ({above[0]} characters) has {above[1]} tokens"
    assert below is not None
    return (
        f"even the longest pair ({below[0]} characters) has only {below[1]} tokens; for longer "
        "prompts build bodies from max_field()"
    )

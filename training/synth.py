"""Deterministic synthetic training rows for all six domains.

``hrstack train synth --rows 600 --seed 1234 --out runs/synth.jsonl``

Each row is built from typed facts (synth_docs) with randomized wording, then prompted with
``tasks.prompts.build_messages`` (the production system prompt and tagged fields) and checked
with the production validators: a row that fails is dropped and counted, and the unit tests
require that none fail. Rank rows carry the rubric's gold decision and score (training.rubric).
The same seed always gives the same rows, one ``random.Random`` per row, so changing one
domain's weight does not reshuffle the others.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from hrstack.tasks.domains import DomainTable
from hrstack.tasks.prompts import build_messages
from hrstack.training.formats import Example, Message, example_id
from hrstack.training.hard_pairs import draw_hard_pair
from hrstack.training.rank_pairs import (
    draw_pair,
    gold_answer,
    match_guards,
    prepared_input,
    prepared_match_input,
)
from hrstack.training.rubric import RubricResult, recommendation, score_candidate
from hrstack.training.synth_docs import (
    Candidate,
    Job,
    listed,
    make_candidate,
    make_job,
    posting_text,
    resume_text,
    sentence,
)
from hrstack.training.synth_vocab import HIRING_CONSTRAINTS
from hrstack.validators import DOMAINS, ValidatorRules, validate

log = logging.getLogger(__name__)
#: Rank rows drawn from the hard set's generator (training/hard_pairs.py), unless
#: ``synth.hard_rank_share`` says otherwise.
HARD_RANK_SHARE = 0.3
Built = tuple[dict[str, str], str, dict[str, Any] | None]


def _years(n: int) -> str:
    return "1 year" if n == 1 else f"{n} years"


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))


def _tips(rng: random.Random, cand: Candidate, job: Job) -> list[str]:
    stint = cand.stints[0]
    missing = [s for s in job.required if s not in cand.skills][:2]
    tips = {
        "no_metrics": rng.choice((
            f'Quantify results at {stint.company}, e.g. "{stint.win}".',
            f"Add numbers to each role, such as how you {stint.win}.",
        )),
        "skills_buried": rng.choice((
            f"Move your skills ({listed(list(cand.skills[:3]))}) to the top, under your name.",
            "Put the skills line first so screeners see it in seconds.",
        )),
        "no_summary": rng.choice((
            f"Add a two-line summary aimed at the {job.title} role.",
            f"Open with a one-line profile: {cand.title} with {cand.years} years of experience.",
        )),
        "weak_verbs": rng.choice((
            'Replace "Responsible for" with action verbs such as built, led or cut.',
            'Start each line with a strong verb instead of "Responsible for".',
        )),
        "missing_keywords": (
            f"Add {listed(missing)} if you have used them; the {job.title} posting asks for them."
            if missing else f"Mirror the wording of the {job.title} posting in your skills line."
        ),
    }  # fmt: skip
    chosen = [tips[flaw] for flaw in sorted(cand.flaws)]
    extras = [
        "List the newest role first and keep each role to two or three lines.",
        "Keep the resume to one page with consistent dates.",
        f"Name the {job.industry} domain knowledge you bring in the summary.",
    ]
    if cand.certifications:
        extras.append(f"Show the {cand.certifications[0]} near the top; screeners look for it.")
    rng.shuffle(chosen)
    rng.shuffle(extras)
    return (chosen + extras)[: rng.randint(max(3, len(chosen)), 6)]


def build_resume_guidance(rng: random.Random, rules: ValidatorRules) -> Built:
    cand = make_candidate(rng)
    job = make_job(rng, role=cand.role)
    keywords = list(job.required + job.preferred + job.role.skills)
    keywords = list(dict.fromkeys(keywords))[:5]
    answer = _numbered(_tips(rng, cand, job)) + f"\nATS Keywords: {', '.join(keywords)}"
    fields = {"resume": resume_text(cand)}
    if rng.random() < 0.8:
        fields = {"target_role": job.title, **fields}
    return fields, answer, None


def build_job_description(rng: random.Random, rules: ValidatorRules) -> Built:
    job = make_job(rng)
    must = list(job.required[:2])
    details = f"{sentence(job.industry)} company in {job.city}, {job.mode}. "
    details += f"Team of {rng.randint(3, 12)}. Must have {listed(must)}."
    if job.certification:
        details += f" {job.certification} required."
    requirements = [
        f"{job.min_years}+ years of {job.role.area} experience.",
        f"Strong skills in {listed(must)}.",
        f"Experience with {listed(list(job.required[2:]))}.",
    ]
    if job.certification:
        requirements.append(f"Active {job.certification}.")
    requirements.append(rng.choice(("Clear written communication.", "A collaborative attitude.")))
    lines = [
        f"{job.company} is hiring a {job.title} to {job.duties[0]} in {job.city} ({job.mode}).",
        "Responsibilities:",
        *(f"- {sentence(duty)}." for duty in job.duties),
        "Requirements:",
        *(f"- {item}" for item in requirements),
    ]
    if job.benefits:
        lines += ["Benefits:", *(f"- {benefit}" for benefit in job.benefits)]
    fields = {"title": job.title, "company": job.company, "details": details}
    return fields, "\n".join(lines), None


def _pair(rng: random.Random, rules: ValidatorRules) -> tuple[Job, Candidate, RubricResult]:
    job = make_job(rng)
    cand = replace(make_candidate(rng, job), flaws=frozenset())  # a complete, factual resume
    return job, cand, score_candidate(job.facts, cand.facts, shortlist_min_score=_bar(rules))


def _bar(rules: ValidatorRules) -> float:
    return rules.rank.shortlist_min_score


def build_match(rng: random.Random, rules: ValidatorRules) -> Built:
    """A match row prompted as the gateway prompts it (redacted resume, evidence block); gold
    is the served policy: the rubric's verdict, then the match guards."""
    job, cand, result = _pair(rng, rules)
    prepared = prepared_match_input(posting_text(job), resume_text(cand))
    strengths = []
    if result.required_matched:
        strengths.append(f"Has {listed(list(result.required_matched[:3]))}, required for the role.")
    if cand.years >= job.min_years:
        strengths.append(f"{_years(cand.years)} of experience against the {job.min_years}+ asked.")
    if result.preferred_matched:
        strengths.append(f"Also knows {result.preferred_matched[0]}, a nice-to-have.")
    strengths.append(f"Recent work at {cand.stints[0].company}, where they {cand.stints[0].win}.")
    strengths.append(f"Brings {cand.skills[0]} from work as a {cand.title}.")
    gaps = [f"No {skill} listed." for skill in result.required_missing[:2]]
    if cand.years < job.min_years:
        gaps.append(f"Only {_years(cand.years)} of experience; the role asks for {job.min_years}+.")
    gaps += [f"Lacks the required {cert}." for cert in result.certifications_missing]
    gaps += [f"No {skill} experience (nice to have)." for skill in result.preferred_missing[:1]]
    verb, score = match_guards(
        prepared.evidence, recommendation(result.score, _bar(rules)), round(result.score * 100)
    )
    missing = list(result.required_missing[:1]) or list(prepared.evidence.must_have_missing[:1])
    needs = listed(missing or ["ramp-up"])
    why = {
        "interview": "covers the core requirements",
        "consider": f"solid base but needs {needs}",
        "reject": "misses most of what the role requires",
    }[verb]
    lines = [
        f"Match Score: {score}/100",
        "Strengths:",
        *(f"- {s}" for s in strengths[: rng.randint(2, 3)]),
        "Gaps:",
        *(f"- {g}" for g in gaps[:3]),
        f"Recommendation: {verb}, {why}.",
    ]
    fields = {key: value for key, value in prepared.fields.items() if value is not None}
    return fields, "\n".join(lines), {"rubric": result.to_dict()}


def build_rank(
    rng: random.Random, rules: ValidatorRules, hard_share: float = HARD_RANK_SHARE
) -> Built:
    """A labelled pair as rank evaluation draws them (honeypots, injections, JSON profiles, a
    missing must-have), prompted with the fields the gateway builds; gold is the served policy
    (rubric, then the must-have guard), so SFT teaches what /v1/rank must answer. A share
    (``hard_share``) comes from the hard set's generator: every must-have named, gold by
    specialty, years and recency, the decisive fact stated first in the reasons."""
    pair_id = f"synth-rank-{rng.random():.12f}"
    hard = rng.random() < hard_share
    pair = draw_hard_pair(rng, pair_id) if hard else draw_pair(rng, pair_id)
    prepared = prepared_input(pair)
    fields = {key: value for key, value in prepared.fields.items() if value is not None}
    gold = {"decision": pair.decision, "score": pair.score, "kind": pair.kind,
            "expected_flags": list(pair.expected_flags)}  # fmt: skip
    return fields, gold_answer(pair, prepared.evidence), gold


def build_recruiting(rng: random.Random, rules: ValidatorRules) -> Built:
    job = make_job(rng)
    count, weeks = rng.randint(1, 5), rng.choice((4, 6, 8, 10, 12))
    kind, constraint = rng.choice(HIRING_CONSTRAINTS)
    pct = rng.randint(5, 20)
    hires = "one hire" if count == 1 else f"{count} hires"
    context = f"Need {hires} in {job.city} within {weeks} weeks. {constraint.format(pct=pct)}"
    channels = list(job.role.channels)
    rng.shuffle(channels)
    special = {
        "agency": f"Brief the one agency on the hardest {job.title} seat only.",
        "pay": f"Benchmark pay against competitors and raise the band by up to {pct}%.",
        "remote": "Post the role as remote on remote-first job boards.",
        "first": "Write a scorecard with the hiring manager before sourcing anyone.",
        "volume": f"Add two knockout questions on {job.required[0]} to the application.",
        "shifts": "State the evening shifts and shift pay in the first line of the ad.",
    }[kind]
    steps = [
        f"Post the opening on {channels[0]} and {channels[1]} with the salary range.",
        f"Offer a referral bonus of ${rng.choice((500, 1000, 2000))} to current staff.",
        f"Source passive candidates on {channels[2]} with a short personal note.",
        f"Run a {rng.choice((20, 30, 45))}-minute structured screen on {listed(job.required[:2])}.",
        f"Use a short work sample: {job.duties[0]}.",
        f"Send offers within {rng.choice((24, 48, 72))} hours of the final interview.",
        f"Track time to fill weekly against the {weeks}-week deadline.",
    ]
    rng.shuffle(steps)
    steps = [special, *steps][: rng.randint(4, 6)]
    rng.shuffle(steps)
    return {"role": job.title, "context": context}, _numbered(steps), None


def build_ats(rng: random.Random, rules: ValidatorRules) -> Built:
    """Up to 8 keywords, chosen required first, then listed in the order the posting's
    requirement sections name them: the order the served grammar enforces
    (validators/ats_keywords.py ``constraint``), so a model copies down the posting rather
    than jumping about it. When the gold listed the required skills, the nice-to-haves, then
    the license, the fine-tuned 0.5B (free) reached the license line ("- RN license
    required.") after the required skills, copied it whole and went on copying the lines
    after it."""
    job = make_job(rng)
    posting = posting_text(job)
    pool = [*job.required, *job.preferred, job.certification, job.role.area]
    keywords = list(dict.fromkeys(k for k in pool if k))[:8]
    section = posting[posting.index("Requirements:") :].casefold()
    keywords.sort(key=lambda keyword: section.find(keyword.casefold()))
    return {"job_description": posting}, _numbered(keywords), None


BUILDERS: dict[str, Callable[[random.Random, ValidatorRules], Built]] = {
    "resume_guidance": build_resume_guidance,
    "job_description": build_job_description,
    "job_resume_match": build_match,
    "recruiting_strategy": build_recruiting,
    "ats_keywords": build_ats,
    "rank": build_rank,
}


def allocate(rows: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``rows`` by ``weights`` with largest remainders, so the counts sum to ``rows``."""
    total = sum(weights.values())
    exact = {d: rows * w / total for d, w in weights.items() if w > 0}
    counts = {d: int(x) for d, x in exact.items()}
    for d in sorted(exact, key=lambda d: exact[d] - counts[d], reverse=True)[
        : rows - sum(counts.values())
    ]:
        counts[d] += 1
    return counts


def build_example(
    domain: str,
    index: int,
    seed: int,
    domains: DomainTable,
    rules: ValidatorRules,
    hard_rank_share: float = HARD_RANK_SHARE,
) -> Example:
    rng = random.Random(f"{seed}-{domain}-{index}")
    builder = BUILDERS[domain]
    if domain == "rank":
        builder = partial(build_rank, hard_share=hard_rank_share)
    fields, answer, gold = builder(rng, rules)
    prompt = [Message.model_validate(m) for m in build_messages(domains[domain], fields)[:2]]
    messages = [*prompt, Message(role="assistant", content=answer)]
    return Example(
        id=example_id(domain, "synthetic", messages),
        domain=domain,
        source="synthetic",
        messages=messages,
        fields=fields,
        gold=gold,
    )


def generate(
    rows: int,
    seed: int,
    domains: DomainTable,
    rules: ValidatorRules,
    weights: Mapping[str, float] | None = None,
    hard_rank_share: float = HARD_RANK_SHARE,
) -> tuple[list[Example], int]:
    """``rows`` synthetic examples (weights: share per domain; ``hard_rank_share``: rank rows
    from the hard set's generator) and how many failed validation."""
    counts = allocate(rows, weights or dict.fromkeys(DOMAINS, 1.0))
    out: list[Example] = []
    failed = 0
    for domain, count in counts.items():
        for index in range(count):
            example = build_example(domain, index, seed, domains, rules, hard_rank_share)
            result = validate(domain, example.answer, rules, example.fields)
            if result.ok:
                out.append(example)
            else:
                failed += 1
                log.warning("synthetic %s row %d fails %s; dropped", domain, index, result.failed)
    random.Random(seed).shuffle(out)
    return out, failed

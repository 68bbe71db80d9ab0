"""A held-out rank set the guards cannot answer: every resume names every must-have.

The easy set (training/rank_pairs.py) is labelled by the rubric whose must-have rule the guards
enforce: every gold reject lacks a must-have, so the guard alone gets its rejects right. This
set is labelled by a rule the guards do not see, on facts the generator knows:

    reject when the candidate has no work in the job's own specialty (roles of the job's
    role), or that work ended more than ``STALE_YEARS`` years ago, or it adds up to half the
    years asked or less; shortlist a candidate with more than the years asked in current work
    of the specialty. The resume always names every required skill and license, so no guard
    fires. (Candidates between half and all of the years are not drawn: there the easy set's
    rubric weighs years against skills.)

Kinds (``KINDS``), drawn in the order ``SCHEDULE`` gives, so half the pairs are shortlists:

* ``too_junior`` (reject): the job's specialty and every skill, at most half the years asked;
* ``adjacent`` (reject): a different specialty whose duties name two of the job's skills and
  whose skills line lists them all: the evidence counts those years as relevant;
* ``coursework`` (reject): the job's skills only in the skills line and a coursework line of
  the education; the work is in another field;
* ``stale`` (reject): years of the job's specialty that ended ``STALE_YEARS``+ years ago, then
  years in another field;
* ``synonyms`` (shortlist): a strong candidate whose resume names the skills through the
  synonym table's other forms (k8s, Postgres, ...) or as a JSON profile;
* ``near_duplicate``: a strong candidate (shortlist) beside the same resume with one decisive
  fact changed (its specialty work moved back to end ``STALE_YEARS + 3`` years ago, or its
  roles retitled to another specialty): a reject.

Baselines (training/rank_baselines.py) read against it: guards-only shortlists every pair here;
the evidence rule catches ``too_junior`` (years) and ``coursework`` (no relevant role), not the
others.
"""

from __future__ import annotations

import json
import random
from typing import Literal

from hrstack.training.rank_pairs import Kind, RankPair, _profile, _rules, field_reason
from hrstack.training.synth_docs import YEAR, Candidate, Job, Stint, company, make_job, posting_text
from hrstack.training.synth_docs import resume_text as free_text
from hrstack.training.synth_vocab import DEGREES, ROLES, Role
from hrstack.validators.evidence_terms import word_pattern

STALE_YEARS = 5
KINDS: tuple[Kind, ...] = (
    "too_junior", "adjacent", "coursework", "stale", "synonyms", "near_duplicate",
)  # fmt: skip
#: The order kinds are drawn in: each reject kind once, ``synonyms`` four times and one
#: near-duplicate (a shortlist and its reject twin), so every ten pairs are five of each. With
#: each kind once the set was 71% rejects, and "reject everything" (0.71) beat both baselines
#: (guards only 0.29, evidence only 0.57), so a model's lead over them measured nothing.
SCHEDULE: tuple[Kind, ...] = (
    "too_junior", "synonyms", "adjacent", "synonyms", "coursework", "synonyms", "stale",
    "synonyms", "near_duplicate",
)  # fmt: skip


def _stint(rng: random.Random, role: Role, start: int, end: int, extra: str = "") -> Stint:
    duties = list(rng.sample(role.duties, 2))
    if extra:
        duties[1] = extra
    win = rng.choice(role.wins).format(pct=rng.randint(8, 45), n=rng.randint(2, 9))
    return Stint(company(rng), role.title, start, end, tuple(duties), win)


def _career(rng: random.Random, parts: list[tuple[Role, int, str]]) -> tuple[Stint, ...]:
    """Back-to-back stints, oldest first in ``parts`` (role, years, extra duty), ending this
    year; returned newest first, as resumes list them."""
    end, stints = YEAR, []
    for role, years, extra in reversed(parts):
        stints.append(_stint(rng, role, end - years, end, extra))
        end -= years
    return tuple(stints)


def _candidate(rng: random.Random, job: Job, stints: tuple[Stint, ...], title: str) -> Candidate:
    years = sum(s.end - s.start for s in stints)
    skills = list(job.required) + list(job.preferred[:1])
    rng.shuffle(skills)
    return Candidate(
        role=job.role, name="", title=title, years=years, skills=tuple(skills),
        certifications=(job.certification,) if job.certification else (),
        stints=stints, degree=rng.choice(DEGREES),
    )  # fmt: skip


def _other(rng: random.Random, job: Job) -> Role:
    return rng.choice([r for r in ROLES if r.title != job.role.title])


def _strong(rng: random.Random, job: Job) -> Candidate:
    years = job.min_years + rng.randint(1, 3)
    return _candidate(rng, job, _career(rng, [(job.role, years, "")]), job.role.title)


def _junior(rng: random.Random, job: Job) -> Candidate:
    years = max(1, job.min_years // 2)
    return _candidate(rng, job, _career(rng, [(job.role, years, "")]), job.role.title)


def _adjacent(rng: random.Random, job: Job, base: Candidate | None = None) -> Candidate:
    other = _other(rng, job)
    a, b = rng.sample(job.required, 2)
    duty = f"applied {a} and {b} to {rng.choice(other.duties)}"
    years = base.years if base else job.min_years + rng.randint(1, 3)
    return _candidate(rng, job, _career(rng, [(other, years, duty)]), other.title)


def _stale(rng: random.Random, job: Job, specialty_years: int | None = None) -> Candidate:
    years = specialty_years or job.min_years + rng.randint(0, 2)
    gap = STALE_YEARS + rng.randint(1, 4)
    stints = _career(rng, [(job.role, years, ""), (_other(rng, job), gap, "")])
    return _candidate(rng, job, stints, stints[0].title)


def _coursework(rng: random.Random, job: Job) -> tuple[Candidate, str]:
    other = _other(rng, job)
    cand = _candidate(
        rng, job, _career(rng, [(other, job.min_years + rng.randint(1, 3), "")]), other.title
    )
    return cand, f"Coursework: {', '.join(job.required)}"


def _synonyms(text: str, rng: random.Random) -> str:
    """Each skill the synonym table knows written in one of its other forms, where it stands as
    a name of its own ("Go" in "Google Classroom" is not the language)."""
    _, evidence_rules, _ = _rules()
    for group in evidence_rules.synonyms:
        canonical, *others = group
        if others and canonical in text:
            whole = word_pattern((canonical,), frozenset((canonical,)))  # the reader's boundary
            text = whole.sub(rng.choice(others).replace("\\", "\\\\"), text)
    return text


def _text(cand: Candidate, rng: random.Random, *, json_share: float = 0.0, extra: str = "") -> str:
    _, evidence_rules, _ = _rules()
    if rng.random() < json_share:
        return json.dumps(_profile(cand, rng, evidence_rules))
    text = free_text(cand, with_name=False)
    return f"{text}\n{extra}" if extra else text


def _job(rng: random.Random, min_years: int = 1) -> Job:
    for _ in range(100):
        job = make_job(rng)
        if job.min_years >= min_years and len(job.required) >= 2:
            return job
    raise RuntimeError(f"no job asking {min_years}+ years in 100 draws")


def _pair(
    ids: tuple[str, str, str],
    job: Job,
    text: str,
    kind: Kind,
    decision: Literal["shortlist", "reject"],
    why: str,
) -> RankPair:
    bar = _rules()[0].rank.shortlist_min_score
    score = 0.8 if decision == "shortlist" else 0.2
    assert bar <= 0.8 and bar > 0.2
    return RankPair(
        pair_id=ids[0], job_id=ids[1], candidate_id=ids[2], job_description=posting_text(job),
        candidate=text, decision=decision, score=score, kind=kind, expected_flags=(),
        gold_status=decision, why=why,
    )  # fmt: skip


def make_hard(kind: Kind, rng: random.Random, ids: tuple[str, str, str]) -> list[RankPair]:
    """The pair(s) of one kind: one, or two for a near-duplicate (the strong resume, then its
    twin ``<id>-twin`` with the decisive fact changed). ``why``, the gold answer's first
    reason, compares the job's field with the recent work's (``field_reason``), in words the
    inputs hold (the rank validator's grounding check reads gold answers too); a too-junior
    candidate's years come in the years reason, from the evidence block."""
    job = _job(rng, min_years=4 if kind == "too_junior" else 1)
    if kind == "too_junior":
        cand = _junior(rng, job)
        return [_pair(ids, job, _text(cand, rng), kind, "reject", field_reason(cand, job))]
    if kind == "adjacent":
        cand = _adjacent(rng, job)
        return [_pair(ids, job, _text(cand, rng), kind, "reject", field_reason(cand, job))]
    if kind == "coursework":
        cand, line = _coursework(rng, job)
        return [
            _pair(ids, job, _text(cand, rng, extra=line), kind, "reject", field_reason(cand, job))
        ]
    if kind == "stale":
        cand = _stale(rng, job)
        return [_pair(ids, job, _text(cand, rng), kind, "reject", field_reason(cand, job))]
    if kind == "synonyms":
        cand = _strong(rng, job)
        text = _synonyms(_text(cand, rng, json_share=0.5), rng)
        return [_pair(ids, job, text, kind, "shortlist", field_reason(cand, job))]
    strong = _strong(rng, job)
    if rng.random() < 0.5:
        changed = _stale(rng, job, specialty_years=strong.years)
    else:
        changed = _adjacent(rng, job, strong)
    twin = (f"{ids[0]}-twin", ids[1], f"{ids[2]}-twin")
    return [
        _pair(ids, job, _text(strong, rng), kind, "shortlist", field_reason(strong, job)),
        _pair(twin, job, _text(changed, rng), kind, "reject", field_reason(changed, job)),
    ]


def generate_hard_pairs(n: int, seed: int) -> list[RankPair]:
    """At least ``n`` labelled pairs (a near-duplicate adds two, so one more may come),
    deterministic in ``seed``; each job is drawn for its pair alone (a near-duplicate's two
    resumes share theirs)."""
    pairs: list[RankPair] = []
    index = 0
    while len(pairs) < n:
        rng = random.Random(f"{seed}-hard-{index}")
        ids = (f"hard-{seed}-{index}", f"hardjob-{seed}-{index}", f"hardcand-{seed}-{index}")
        pairs += make_hard(SCHEDULE[index % len(SCHEDULE)], rng, ids)
        index += 1
    return pairs


def draw_hard_pair(rng: random.Random, pair_id: str) -> RankPair:
    """One hard pair of a random kind, weighted as ``SCHEDULE`` (one side of a near-duplicate),
    so half are shortlists: SFT rank rows, so the model learns the specialty, years and recency
    rule on resumes that name every skill, and not that a hard-looking pair is a reject."""
    kind = rng.choice(SCHEDULE)
    made = make_hard(kind, rng, (pair_id, f"job-{pair_id}", f"cand-{pair_id}"))
    return rng.choice(made)

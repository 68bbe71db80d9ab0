"""A varied corpus of postings and CVs with the evidence each should yield, per format.

The evidence reader was tuned on one generator's phrasing; real documents state requirements
under other headings, as numbered or inline lists, in prose, with years in words and ranges, and
CVs date roles as "Jan 2021 - Present", "03/2019 – 05/2021" or "2019-22", with promotions,
part-time and freelance work beside a job. Every document here is written from known facts
(training/synth_docs.py roles across 18 fields, not only tech) in one of those formats, so the
expected evidence is known: the posting's required skills and years, the CV's specialty years,
and no integrity flag, except where one is planted.

    from tests import evidence_corpus as ec
    for case in ec.postings():   # PostingCase(format, text, must, nice, years)
    for case in ec.careers():    # CareerCase(format, job, text, years, flags)
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from hrstack.training.synth_docs import Job, company, make_job
from hrstack.training.synth_vocab import ROLES

YEAR = 2026
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

POSTING_FORMATS = (
    "headings-bullets", "what-youll-bring", "essential-desirable", "inline", "must-nice",
    "markdown", "prose",
)  # fmt: skip
CAREER_FORMATS = (
    "month-present", "slash-dates", "short-year", "promotion", "part-time", "freelance",
    "json-profile", "planted-overlap", "planted-tenure",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostingCase:
    format: str
    text: str
    must: tuple[str, ...]
    nice: tuple[str, ...]
    years: int
    #: The field the years are asked in ("clinical nursing"): a must-have too where the
    #: synonym table names it, so not a false positive.
    area: str


@dataclass(frozen=True, slots=True)
class CareerCase:
    format: str
    job: str
    text: str
    years: float
    flags: tuple[str, ...]


def _title(job: Job) -> str:
    return f"{job.title} at {job.company} ({job.city})"


def _posting(job: Job, fmt: str, rng: random.Random) -> str:
    must, nice, years = list(job.required), list(job.preferred), job.min_years
    duties = "\n".join(f"- {d[:1].upper()}{d[1:]}." for d in job.duties)
    word = NUMBER_WORDS.get(years, str(years))
    if fmt == "headings-bullets":
        body = [
            "Requirements:",
            f"- {years}+ years of {job.role.area} experience",
            *(f"- {s}" for s in must),
            "Nice to have:",
            *(f"- {s}" for s in nice),
        ]
    elif fmt == "what-youll-bring":
        body = [
            "What you’ll bring",
            f"• at least {word} years of {job.role.area} experience",
            *(f"• {s}" for s in must),
            "Bonus points",
            *(f"• {s}" for s in nice),
        ]
    elif fmt == "essential-desirable":
        body = [
            "Essential criteria:",
            f"1. {years}-{years + 2} yrs {job.role.area} experience",
            *(f"{i}. {s}" for i, s in enumerate(must, start=2)),
            "Desirable:",
            *(f"{i}. {s}" for i, s in enumerate(nice, start=1)),
        ]
    elif fmt == "inline":
        body = [
            f"Requirements: {years}+ years of {job.role.area} experience, "
            f"{', '.join(must[:-1])} and {must[-1]}. Nice to have: {', '.join(nice)}."
        ]
    elif fmt == "must-nice":
        body = [
            "Must have:",
            f"* {years} or more years of {job.role.area} experience",
            *(f"* {s}" for s in must),
            "Nice-to-have:",
            *(f"* {s}" for s in nice),
        ]
    elif fmt == "markdown":
        body = [
            "## Requirements",
            f"- **{years}+ years** of {job.role.area} experience",
            *(f"- **{s}**" for s in must),
            "## Nice to have",
            *(f"- {s}" for s in nice),
        ]
    else:  # prose: how many real postings state them, and what the reader does not parse yet
        body = [
            f"You have {years}+ years of {job.role.area} experience and you are fluent in "
            f"{', '.join(must[:-1])} and {must[-1]}. Experience with {nice[0]} is a plus."
        ]
    intro = f"{_title(job)}\nAbout the role\n{rng.choice(job.role.duties).capitalize()}."
    return "\n".join([intro, "Responsibilities:", duties, *body])  # fmt: skip


def postings(per_format: int = 6, seed: int = 3) -> Iterator[PostingCase]:
    """``per_format`` postings in each format, jobs from every field in turn."""
    for f_index, fmt in enumerate(POSTING_FORMATS):
        for i in range(per_format):
            rng = random.Random(f"{seed}-posting-{fmt}-{i}")
            role = ROLES[(f_index * per_format + i) % len(ROLES)]
            job = make_job(rng, role)
            job = replace(job, certification=None, preferred=job.preferred or (role.skills[-1],))
            text = _posting(job, fmt, rng)
            yield PostingCase(fmt, text, job.required, job.preferred, job.min_years, role.area)


def _month(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def careers(per_format: int = 6, seed: int = 5) -> Iterator[CareerCase]:
    """CVs for a job of the same field: ordinary careers in many layouts (no flag), and two
    planted impossibilities (flagged). ``years`` is the specialty's time, to the month."""
    for fmt in CAREER_FORMATS:
        for i in range(per_format):
            rng = random.Random(f"{seed}-career-{fmt}-{i}")
            role = ROLES[(CAREER_FORMATS.index(fmt) * per_format + i) % len(ROLES)]
            job = make_job(rng, role)
            posting = "\n".join([
                _title(job), "Requirements:", f"- {job.min_years}+ years of {role.area} experience",
                *(f"- {s}" for s in job.required),
            ])  # fmt: skip
            text, years, flags = _career(fmt, job, rng)
            yield CareerCase(fmt, posting, text, years, flags)


def _career(fmt: str, job: Job, rng: random.Random) -> tuple[str, float, tuple[str, ...]]:
    title, skills = job.role.title, ", ".join(job.required)
    a, b = company(rng), company(rng)
    s1 = YEAR - rng.randint(6, 9)
    m1 = rng.randint(1, 12)
    mid = s1 + rng.randint(2, 4)
    head = f"Skills: {skills}\n"
    if fmt == "month-present":
        text = (
            f"{head}EXPERIENCE\n{title}, {a} — {_month(mid, 3)} - Present\n"
            f"{title}, {b} — {_month(s1, m1)} – {_month(mid, 2)}\n"
        )
        return text, _span(s1, m1, YEAR, 12) - 1 / 12, ()
    if fmt == "slash-dates":
        text = (
            f"{head}Professional Experience\n{a} | {title} | 04/{mid} – present\n"
            f"{b} | {title} | {m1:02d}/{s1} – 04/{mid}\n"
        )
        return text, _span(s1, m1, YEAR, 12), ()
    if fmt == "short-year":
        text = (
            f"{head}Work history\n{title} at {a} ({mid}–current)\n"
            f"{title} at {b} ({s1}-{str(mid)[2:]})\n"
        )
        return text, _span(s1, 1, YEAR, 12), ()
    if fmt == "promotion":
        text = (
            f"{head}{a}\nSenior {title}, {m1:02d}/{mid} – present\n"
            f"{title}, {m1:02d}/{s1} – {m1:02d}/{mid}\n"
        )
        return text, _span(s1, m1, YEAR, 12), ()
    if fmt in ("part-time", "freelance"):
        side = (f"Part-time {job.role.area} instructor, {b}" if fmt == "part-time"
                else f"Freelance {job.role.area} consultant")  # fmt: skip
        text = (
            f"{head}Experience\n{title}, {a}, {_month(s1, m1)} - Present\n"
            f"{side}, {_month(mid, 1)} - {_month(mid + 1, 6)}\n"
        )
        return text, _span(s1, m1, YEAR, 12), ()
    if fmt == "json-profile":
        roles = [
            {"title": title, "company": a, "start": f"{mid}-03", "end": None},
            {"title": title, "company": b, "start": f"{s1}-{m1:02d}", "end": f"{mid}-03"},
        ]
        profile = {"summary": f"{title}.", "roles": roles, "skills": list(job.required)}
        return json.dumps(profile), _span(s1, m1, YEAR, 12), ()
    if fmt == "planted-overlap":  # two full-time jobs at once for years
        text = f"{head}Experience\n{title}, {a}, {s1} - {YEAR}\n{title}, {b}, {s1 + 1} - {YEAR}\n"
        return text, _span(s1, 1, YEAR, 1), ("overlapping_roles",)  # a bare year is January
    # planted-tenure: one role longer than the whole career the summary states
    text = (
        f"Profile: {title} with 2 years of experience.\n{head}Experience\n"
        f"{title}, {a}, {s1} - Present\n"
    )
    return text, _span(s1, 1, YEAR, 12), ("tenure_exceeds_total",)


def _span(y1: int, m1: int, y2: int, m2: int) -> float:
    """Years from the start of month m1 of y1 to the start of month m2 of y2 (as the reader
    counts: 'Present' is the current month)."""
    return ((y2 * 12 + m2 - 1) - (y1 * 12 + m1 - 1)) / 12

"""Synthetic jobs and candidates: structured facts first, then the documents written from them.

Keeping the facts (skills, years, licenses) beside the text is what lets the synthetic answers
be correct by construction: ATS keywords are taken from the posting's own skill list, match
scores and rank labels come from the rubric over the facts, and resume tips name the flaws the
resume was written with. All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from hrstack.training.rubric import CandidateFacts, JobFacts
from hrstack.training.synth_vocab import (
    BENEFITS,
    CITIES,
    COMPANY_HEADS,
    COMPANY_TAILS,
    DEGREES,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    ROLES,
    SENIORITY,
    WORK_MODES,
    Role,
)

YEAR = 2025
RESUME_FLAWS = ("no_metrics", "skills_buried", "no_summary", "weak_verbs", "missing_keywords")


@dataclass(frozen=True, slots=True)
class Job:
    role: Role
    title: str
    company: str
    industry: str
    city: str
    mode: str
    required: tuple[str, ...]
    preferred: tuple[str, ...]
    min_years: int
    certification: str | None
    duties: tuple[str, ...]
    benefits: tuple[str, ...]

    @property
    def facts(self) -> JobFacts:
        certs = (self.certification,) if self.certification else ()
        return JobFacts(self.title, self.required, self.preferred, self.min_years, certs)


@dataclass(frozen=True, slots=True)
class Stint:
    company: str
    title: str
    start: int
    end: int
    duties: tuple[str, ...]
    win: str


@dataclass(frozen=True, slots=True)
class Candidate:
    role: Role
    name: str
    title: str
    years: int
    skills: tuple[str, ...]
    certifications: tuple[str, ...]
    stints: tuple[Stint, ...]
    degree: str
    flaws: frozenset[str] = field(default_factory=frozenset)

    @property
    def facts(self) -> CandidateFacts:
        return CandidateFacts(self.title, self.years, self.skills, self.certifications)


def listed(items: Sequence[str], last: str = "and") -> str:
    """``a, b and c``: skills and tools named in running text (postings, reasons, advice)."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def sentence(text: str) -> str:
    """Capitalize the first letter only: str.capitalize() would turn "SQL" into "sql"."""
    return text[:1].upper() + text[1:]


def company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_HEADS)} {rng.choice(COMPANY_TAILS)}"


def _win(rng: random.Random, role: Role) -> str:
    return rng.choice(role.wins).format(pct=rng.randint(8, 45), n=rng.randint(2, 9))


def make_job(rng: random.Random, role: Role | None = None) -> Job:
    role = role or rng.choice(ROLES)
    level, base_years = rng.choice(SENIORITY)
    skills = list(role.skills)
    rng.shuffle(skills)
    n_required = rng.randint(4, 5)
    cert = role.certifications[0] if role.certifications and rng.random() < 0.7 else None
    duties = list(role.duties)
    rng.shuffle(duties)
    return Job(
        role=role,
        title=f"{level} {role.title}".strip(),
        company=company(rng),
        industry=rng.choice(INDUSTRIES),
        city=rng.choice(CITIES),
        mode=rng.choice(WORK_MODES),
        required=tuple(skills[:n_required]),
        preferred=tuple(skills[n_required : n_required + rng.randint(2, 3)]),
        min_years=max(1, base_years + rng.randint(-1, 1)),
        certification=cert,
        duties=tuple(duties[: rng.randint(4, 5)]),
        benefits=tuple(rng.sample(BENEFITS, rng.randint(0, 3))),
    )


def make_candidate(
    rng: random.Random, job: Job | None = None, fit: float | None = None
) -> Candidate:
    """A candidate for ``job`` (or for a random role): ``fit`` in [0, 1] sets how many of the
    job's skills and years they bring; some job skill is always missing, so gaps exist."""
    fit = rng.random() if fit is None else fit
    same_role = job is not None and (fit > 0.25 or rng.random() < 0.5)
    role = job.role if (job is not None and same_role) else rng.choice(ROLES)
    wanted = list(job.required + job.preferred) if job and same_role else []
    keep = min(len(wanted) - 1, round(fit * len(wanted))) if wanted else 0
    rng.shuffle(wanted)
    others = [s for s in role.skills if s not in wanted]
    rng.shuffle(others)
    skills = wanted[:keep] + others[: rng.randint(1, 3)]
    rng.shuffle(skills)
    need = job.min_years if job else rng.randint(1, 9)
    years = max(1, round(need * (0.4 + fit)) + rng.randint(-1, 1))
    certs = role.certifications if role.certifications and rng.random() < 0.2 + 0.7 * fit else ()
    return Candidate(
        role=role,
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        title=role.title,
        years=years,
        skills=tuple(skills),
        certifications=tuple(certs),
        stints=_stints(rng, role, years),
        degree=rng.choice(DEGREES),
        flaws=frozenset(rng.sample(RESUME_FLAWS, rng.randint(3, 5))),
    )


def _stints(rng: random.Random, role: Role, years: int) -> tuple[Stint, ...]:
    count = 1 if years <= 2 else rng.randint(1, min(3, years // 2 + 1))
    cuts = sorted(rng.sample(range(1, years), count - 1)) if count > 1 else []
    bounds = [0, *cuts, years]
    stints = []
    for index in range(count):
        duties = rng.sample(role.duties, 2)
        start, end = YEAR - bounds[count - index], YEAR - bounds[count - index - 1]
        stints.append(Stint(company(rng), role.title, start, end, tuple(duties), _win(rng, role)))
    return tuple(reversed(stints))  # newest first, as resumes list them


def posting_text(job: Job) -> str:
    """The job description a recruiter pastes: title line, duties, requirements, extras."""
    lines = [
        f"{job.title} at {job.company} ({job.industry}, {job.city}, {job.mode})",
        "Responsibilities:",
        *(f"- {sentence(duty)}." for duty in job.duties),
        "Requirements:",
        f"- {job.min_years}+ years of {job.role.area} experience.",
        *(f"- {skill}" for skill in job.required),
    ]
    if job.certification:
        lines.append(f"- {job.certification} required.")
    if job.preferred:
        lines += ["Nice to have:", *(f"- {skill}" for skill in job.preferred)]
    return "\n".join(lines)


def resume_text(candidate: Candidate, *, with_name: bool = True) -> str:
    """A short resume; its ``flaws`` decide what is missing (metrics, summary, skills up top).

    ``with_name=False`` opens with a ``Profile:`` label instead of a name, as the gateway's
    redaction would leave a rank candidate, so training prompts equal production ones.
    """
    flaws = candidate.flaws
    skills_line = f"Skills: {', '.join(candidate.skills)}"
    lines = [candidate.name] if with_name else []
    if "no_summary" not in flaws:
        lines.append(f"Profile: {candidate.title} with {candidate.years} years of experience.")
    elif not with_name:
        lines.append(f"Profile: {candidate.title}.")
    if "skills_buried" not in flaws:
        lines.append(skills_line)
    lines.append("Experience:")
    for stint in candidate.stints:
        verb = "Responsible for: " if "weak_verbs" in flaws else ""
        work = "; ".join(stint.duties) if verb else "; ".join(sentence(d) for d in stint.duties)
        win = "" if "no_metrics" in flaws else f"; {stint.win}"
        lines.append(
            f"- {stint.company}, {stint.title} ({stint.start}-{stint.end}): {verb}{work}{win}."
        )
    if candidate.certifications:
        lines.append(f"Certifications: {', '.join(candidate.certifications)}")
    lines.append(f"Education: {candidate.degree}")
    if "skills_buried" in flaws:
        lines.append(skills_line)
    return "\n".join(lines)

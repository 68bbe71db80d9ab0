"""Writing a posting or a CV in full, then keeping its most important parts up to a length.

tests/realdocs.py is the API; this is how it writes. A document is a list of ``Section``s whose
items carry a priority: 0 is kept always (title, must-haves, the newest role), higher joins
later (the team, the interview process, awards). ``fit`` keeps items in priority order while
the text stays within the length asked for, so a long document says more, and a short one
keeps what a reader looks at first. Every random draw happens while the sections are written,
never while fitting, so one seed gives the same facts at every length.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hrstack.training.synth_docs import YEAR, Candidate, Job, company, sentence
from hrstack.training.synth_vocab import BENEFITS, CITIES, INDUSTRIES, ROLES, Role
from tests import realdocs_phrases as ph

#: A document lands within this share of the length asked for.
TOLERANCE = 0.10
Item = tuple[float, str]  # (priority, text)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: How postings phrase a must-have or a nice-to-have (lead-ins configs/evidence.yaml strips).
_MUST = ("Experience with {}", "Hands-on experience with {}", "Proficiency in {}",
         "Strong {} skills", "Working knowledge of {}", "{}")  # fmt: skip
_NICE = ("Familiarity with {}", "Knowledge of {}", "{}", "Experience with {}")
#: Teams every company has, after the ones a role shares skills with.
_TEAMS = ("operations", "finance", "customer support", "sales", "product")
#: Months of the shortest role on a generated CV.
_SHORTEST_STINT = 8
#: Titles that take "Senior" ("Senior Data Analyst"; not "Senior Truck Driver").
SENIOR_WORDS = ("Engineer", "Analyst", "Scientist", "Designer", "Manager", "Accountant",
                 "Recruiter", "Executive")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Section:
    """A heading ("Requirements"), an optional first line (a role's dates) and items."""

    heading: str | None
    style: Literal["para", "bullets", "lines"]
    items: list[Item]
    lead: str | None = None

    def render(self, keep: set[int]) -> str | None:
        texts = [text for index, (_, text) in enumerate(self.items) if index in keep]
        if not texts:
            return None
        body = (
            " ".join(texts)
            if self.style == "para"
            else "\n".join(f"- {t}" if self.style == "bullets" else t for t in texts)
        )
        lines = [f"{self.heading}:"] if self.heading else []
        return "\n".join([*lines, *([self.lead] if self.lead else []), body])


def render(sections: list[Section], keep: list[set[int]]) -> str:
    """The document: each section with the items of it in ``keep``, blank lines between."""
    blocks = (s.render(k) for s, k in zip(sections, keep, strict=True))
    return "\n\n".join(b for b in blocks if b)


def _joined(sizes: list[int]) -> int:
    """Length of ``render`` from the sections' own lengths (0: not shown)."""
    shown = [size for size in sizes if size]
    return sum(shown) + 2 * max(len(shown) - 1, 0)


def fit(sections: list[Section], chars: int) -> str:
    """The longest text of whole items, taken in priority order, that stays within ``chars``.
    Only the section an item joins is rendered again, so a 14,000-character fit stays fast."""
    keep = [{i for i, (p, _) in enumerate(s.items) if p == 0} for s in sections]
    sizes = [len(s.render(k) or "") for s, k in zip(sections, keep, strict=True)]
    if _joined(sizes) > chars * (1 + TOLERANCE):
        raise ValueError(f"the essentials alone take {_joined(sizes)} characters; ask for more")
    optional = [(p, n, i) for n, s in enumerate(sections) for i, (p, _) in enumerate(s.items)]
    for _, n, i in sorted(k for k in optional if k[0] > 0):
        size = len(sections[n].render(keep[n] | {i}) or "")
        if _joined([*sizes[:n], size, *sizes[n + 1 :]]) <= chars:
            keep[n].add(i)
            sizes[n] = size
    if _joined(sizes) < chars * (1 - TOLERANCE):
        raise ValueError(f"wrote only {_joined(sizes)} of {chars} characters; ask for less")
    return render(sections, keep)


def grow(texts: list[str], tier: float, core: int = 0) -> list[Item]:
    """The first ``core`` texts always kept; the rest join two at a time from ``tier`` on."""
    return [(0.0 if i < core else tier + (i - core) // 2, t) for i, t in enumerate(texts)]


def an(phrase: str) -> str:
    """``phrase`` with its article: "an insurance", "a UX Designer"."""
    vowel = phrase[:1] in "AEIOUaeiou" and not phrase.startswith(("UX", "US", "Uni"))
    return f"{'an' if vowel else 'a'} {phrase}"


def named_tools(skills: Sequence[str]) -> tuple[str, ...]:
    """The skills that are products or standards ("Salesforce", "SQL"), not practices
    ("renewals"): what one "uses" or "introduces". synth_vocab capitalizes exactly those."""
    named = tuple(s for s in skills if s[:1].isupper())
    return named if len(named) >= 2 else tuple(skills)


def related(role: Role, least: int = 1) -> list[Role]:
    """Roles sharing at least ``least`` skills with ``role``, most shared first: the teams it
    works with, and (sharing more) whose duties a career in it plausibly includes."""
    shared = {r.title: len(set(r.skills) & set(role.skills)) for r in ROLES if r is not role}
    close = (r for r in ROLES if shared.get(r.title, 0) >= least)
    return sorted(close, key=lambda r: -shared[r.title])


@dataclass
class Writer:
    """Fills templates from one job's or candidate's facts. A sentence is written only once,
    and each slot takes its least-used value (ties broken by the seed), so a long document
    spreads over the whole vocabulary instead of repeating one skill or duty."""

    rng: random.Random
    role: Role
    slots: dict[str, str]
    skills: tuple[str, ...]
    duties: tuple[str, ...] = ()
    seen: set[str] = field(default_factory=set)
    used: Counter[str] = field(default_factory=Counter)
    teams: tuple[str, ...] = field(init=False)
    tools: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.duties = self.duties or self.role.duties
        areas = [r.area for r in related(self.role)[:4]]
        self.teams = tuple(dict.fromkeys([*areas, *_TEAMS]))
        self.tools = named_tools(self.skills)
        self.slots = {**self.slots, "a_industry": an(self.slots["industry"]),
                      "a_title": an(self.slots["title"])}  # fmt: skip

    def pick(self, pool: Sequence[str], k: int = 2) -> list[str]:
        order = sorted(pool, key=lambda v: (self.used[v], self.rng.random()))[:k]
        self.used.update(order)
        return order

    def fill(self, template: str) -> str:
        rng = self.rng
        skill, skill2 = self.pick(self.skills)
        tool, tool2 = self.pick(self.tools)
        duty, duty2 = self.pick(self.duties)
        other, other2 = self.pick(self.teams)
        channel, channel2 = self.pick(self.role.channels)
        win, win2 = self.pick(self.role.wins)
        low = rng.randint(45, 140)
        values = {
            **self.slots, "skill": skill, "skill2": skill2, "tool": tool, "tool2": tool2,
            "duty": duty, "duty2": duty2,
            "other": other, "other2": other2, "channel": channel, "channel2": channel2,
            "n": str(rng.randint(2, 9)), "n2": str(rng.randint(2, 4)),
            "pct": str(rng.randint(8, 45)), "lo": str(low), "hi": str(low + rng.randint(15, 40)),
            "win": self.win(win), "win2": self.win(win2),
            "industry2": rng.choice([i for i in INDUSTRIES if i != self.slots["industry"]]),
        }  # fmt: skip
        values["outcome"] = rng.choice(ph.OUTCOMES).format(**values)
        return sentence(template.format(**values))

    def win(self, template: str | None = None) -> str:
        """One of the role's achievements with numbers, as synth_docs writes them."""
        pct, n = self.rng.randint(8, 45), self.rng.randint(2, 9)
        return (template or self.pick(self.role.wins, 1)[0]).format(pct=pct, n=n)

    def new(self, templates: Iterable[str], *, shuffle: bool = True) -> list[str]:
        """Each template filled once, in a seeded order, skipping sentences already written."""
        order = list(templates)
        if shuffle:
            self.rng.shuffle(order)
        out = []
        for template in order:
            text = self.fill(template)
            if text not in self.seen:
                self.seen.add(text)
                out.append(text)
        return out


def posting_sections(rng: random.Random, job: Job) -> list[Section]:
    """Every section a long posting has; the title line, must-haves, benefits and the equal
    opportunity statement always, the rest as the length allows."""
    role = job.role
    slots = {"company": job.company, "industry": job.industry, "city": job.city,
             "mode": job.mode, "title": job.title, "area": role.area}  # fmt: skip
    w = Writer(rng, role, slots, role.skills)
    benefits = list(job.benefits) or rng.sample(BENEFITS, 2)
    more_benefits = [b for b in BENEFITS if b not in benefits] + w.new(ph.MORE_BENEFITS)
    rng.shuffle(more_benefits)
    # Must-haves as posting_text writes them (years line first) and as real postings phrase
    # them; the evidence reader strips each lead-in back to the skill.
    must = [f"{job.min_years}+ years of {role.area} experience."]
    must += [rng.choice(_MUST).format(skill) for skill in job.required]
    must += [f"{job.certification} required."] if job.certification else []
    nice = [rng.choice(_NICE).format(skill) for skill in job.preferred]
    uses = rng.sample(ph.TOOL_USES, len(ph.TOOL_USES))
    named = named_tools(role.skills)
    tools_used = [w.fill(use.replace("{skill}", s)) for use, s in zip(uses, named, strict=False)]
    duties = [sentence(d) + "." for d in job.duties]
    more_duties = [sentence(d) + "." for d in role.duties if d not in job.duties]
    about = w.new(ph.ABOUT_US[:1]) + w.new(ph.ABOUT_US[1:])
    hiring = w.fill("We are hiring {a_title} to join our {area} team in {city}.")
    place = [w.fill(ph.PLACE[job.mode]), *w.new(ph.SCHEDULE, shuffle=False)]
    title = f"{job.title} at {job.company} ({job.industry}, {job.city}, {job.mode})"
    faq = [ph.FAQ_PLACE[job.mode], *w.new(ph.FAQ, shuffle=False)]
    return [
        Section(None, "lines", [(0.0, title)]),
        Section("About us", "para", grow(about, 1, core=1)),
        Section("Our products", "para", grow(w.new(ph.PRODUCTS, shuffle=False), 3)),
        Section("About the role", "para", grow([hiring, *w.new(ph.ABOUT_ROLE)], 1, core=1)),
        Section("The team", "para", grow(w.new(ph.TEAM), 2.5)),
        Section("Who you are", "para", grow(w.new(ph.WHO_YOU_ARE), 3)),
        Section("Challenges ahead", "bullets", grow(w.new(ph.CHALLENGES), 3.5)),
        Section("Responsibilities", "bullets",
                grow(duties + more_duties, 1, len(duties)) + grow(w.new(ph.DUTIES), 2)),
        Section("Requirements", "bullets", grow(must + list(ph.MUST_EXTRAS), 2, len(must))),
        Section("Nice to have", "bullets", grow(nice + w.new(ph.NICE_EXTRAS), 3, len(nice))),
        Section("Tools we use", "bullets", grow(tools_used, 3.5)),
        Section("Your first months", "bullets", grow(w.new(ph.FIRST_MONTHS, shuffle=False), 3)),
        Section("Onboarding", "para", grow(w.new(ph.ONBOARDING, shuffle=False), 4)),
        Section("A typical week", "bullets", grow(w.new(ph.TYPICAL_WEEK, shuffle=False), 4)),
        Section("What success looks like", "bullets", grow(w.new(ph.SUCCESS), 3)),
        Section("How we work", "bullets", grow(w.new(ph.HOW_WE_WORK), 2)),
        Section("Our values", "bullets", grow(w.new(ph.VALUES), 4)),
        Section("Growth and learning", "bullets", grow(w.new(ph.GROWTH), 3)),
        Section("Interview process", "bullets", grow(w.new(ph.INTERVIEWS, shuffle=False), 2)),
        Section("Compensation", "para", grow(w.new(ph.PAY, shuffle=False), 1)),
        Section("Pay transparency", "para", grow(list(ph.PAY_TRANSPARENCY), 4.5)),
        Section("Location and schedule", "para", grow(place, 1.5)),
        Section("Benefits", "bullets", grow(benefits, 0, len(benefits)) + grow(more_benefits, 2)),
        Section("Why join us", "bullets", grow(w.new(ph.WHY_US), 4)),
        Section("Questions we often get", "lines", grow(faq, 4.5)),
        Section("Equal opportunity", "para",
                grow(w.new(ph.EQUAL_OPPORTUNITY, shuffle=False) + list(ph.EQUAL_MORE), 2, 2)),
        Section("Inclusion", "para", grow(list(ph.INCLUSION), 4)),
        Section("Background checks", "para", grow(list(ph.CHECKS), 5)),
        Section("Applicant privacy", "para", grow(list(ph.PRIVACY), 5)),
        Section("How to apply", "para", grow(w.new(ph.APPLY, shuffle=False), 1)),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Stint:
    title: str
    company: str
    city: str
    start: int  # months since year 0
    end: int


def _month(months: int) -> str:
    return f"{_MONTHS[months % 12]} {months // 12}"


def _career(rng: random.Random, cand: Candidate, years: int) -> list[_Stint]:
    """3-5 back-to-back roles, newest first, ending in YEAR and covering no more than
    ``years``: dated months the evidence reader counts, never more than the summary states
    (no tenure flag), and no "Present", whose meaning would move with the clock."""
    count = min(5, max(3, 1 + years // 3))
    end = YEAR * 12 + rng.randint(0, 10)
    spare = years * 12 - rng.randint(0, 4) - _SHORTEST_STINT * count
    cuts = sorted(rng.randint(0, spare) for _ in range(count - 1))
    edges = [0, *(c + _SHORTEST_STINT * (i + 1) for i, c in enumerate(cuts))]
    edges.append(spare + _SHORTEST_STINT * count)
    stints = []
    for index in range(count):
        title = cand.title
        if index == 0 and years >= 7 and title.endswith(SENIOR_WORDS):
            title = f"Senior {title}"
        start, stop = end - edges[index + 1] + 1, end - edges[index]
        stints.append(_Stint(title, company(rng), rng.choice(CITIES), start, stop))
    return stints


def _school(rng: random.Random, degree: str) -> str:
    city = rng.choice(CITIES)
    if degree.startswith("High School"):
        return f"{city} High School"
    if degree.startswith("Associate"):
        return f"{city} Community College"
    return rng.choice((f"University of {city}", f"{city} State University"))


def _deal(rng: random.Random, templates: Sequence[str], hands: int) -> list[list[str]]:
    """Two shuffled decks dealt round-robin: each template in at most two roles, once per role,
    so no two roles of one CV read alike."""
    first, second = list(templates), list(templates)
    rng.shuffle(first)
    rng.shuffle(second)
    deck = first + second
    return [list(dict.fromkeys(deck[hand::hands])) for hand in range(hands)]


def _cv_skills(rng: random.Random, cand: Candidate, job: Job | None) -> tuple[str, ...]:
    """The candidate's skills and a few more of their role's, never one the job asks for: a
    real CV lists more than two skills, and the extra ones must not change what it shows."""
    asked = set(job.required + job.preferred) if job else set()
    extra = [s for s in cand.role.skills if s not in cand.skills and s not in asked]
    return cand.skills + tuple(rng.sample(extra, min(len(extra), rng.randint(2, 4))))


def resume_sections(rng: random.Random, cand: Candidate, job: Job | None = None) -> list[Section]:
    """Name and contact, summary, skills, every role with dates (the newest grows first),
    projects, education, certifications and awards. ``job``: the one ``cand`` applies to."""
    role, years = cand.role, max(cand.years, 3)
    stints = _career(rng, cand, years)
    newest = stints[0]
    slots = {"company": newest.company, "industry": rng.choice(INDUSTRIES), "city": newest.city,
             "mode": "", "title": cand.title, "area": role.area}  # fmt: skip
    skills = _cv_skills(rng, cand, job)
    duties = role.duties + tuple(d for r in related(role, least=3)[:1] for d in r.duties)
    w = Writer(rng, role, slots, skills, duties)
    achievements = _deal(rng, ph.ACHIEVEMENTS, len(stints))
    first, last = (part.lower() for part in cand.name.split(" ", 1))
    phone = f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}"
    contact = (
        f"{newest.city} | {first}.{last}@example.com | {phone} | linkedin.com/in/{first}{last}"
    )
    opening = f"{cand.title} with {years} years of experience in {role.area}."
    sections = [
        Section(None, "lines", [(0.0, cand.name), (0.0, contact)]),
        Section("Summary", "para", grow([opening, *w.new(ph.SUMMARY)], 1, core=1)),
        Section(None, "lines", [(0.0, f"Skills: {', '.join(skills)}"),
                                (3.0, f"Strengths: {ph.STRENGTHS}")]),
    ]  # fmt: skip
    for index, stint in enumerate(stints):
        bullets = w.new([w.win() + "."]) + w.new(achievements[index], shuffle=False)
        dates = f"{_month(stint.start)} - {_month(stint.end)}"
        lead = f"{stint.title}, {stint.company}, {stint.city} ({dates})"
        heading = "Experience" if index == 0 else None
        core = 2 if index == 0 else 1
        sections.append(Section(heading, "bullets", grow(bullets, 1 + index / 2, core), lead))
    finished = stints[-1].start // 12 - rng.randint(0, 1)
    length = 2 if cand.degree.startswith(("Associate", "M.")) else 4
    school = f"{cand.degree}, {_school(rng, cand.degree)} ({finished - length} - {finished})"
    certs = [f"{c} ({rng.randint(finished + 1, YEAR)})" for c in cand.certifications]
    return [
        *sections,
        Section("Selected projects", "bullets", grow(w.new(ph.PROJECTS), 2)),
        Section("Education", "lines", [(0.0, school)]),
        Section("Certifications and training", "bullets",
                grow(certs, 0, len(certs)) + grow(w.new(ph.TRAINING), 3)),
        Section("Awards", "bullets", grow(w.new(ph.AWARDS), 4)),
        Section("Volunteering", "bullets", grow(list(ph.VOLUNTEERING), 4.5)),
        Section(None, "lines", [(5.0, f"Interests: {ph.INTERESTS}")]),
    ]  # fmt: skip

"""Rank evidence: what a job asks for, what the candidate shows, and what does not add up.

A small ranking model misses a missing must-have or an impossible career as easily as it
misses a comma; a deterministic reader does not. ``extract`` reads the posting's must-haves,
nice-to-haves and years asked, checks each against the candidate (free text or a JSON
profile) through the synonym table of ``configs/evidence.yaml``, counts relevant years from
merged date ranges, and raises integrity flags. ``render`` (validators/evidence_render.py)
turns that into the compact block the rank prompt carries as ``<evidence>``, within the token
budget of ``render_budget_tokens``, and validators/guards.py enforces the must-haves on the
answer. Pure and deterministic: ``today`` is an argument, never read from a clock.

>>> from validators.evidence_rules import load_evidence_rules
>>> rules = load_evidence_rules()
>>> jd = "Data Analyst. Requirements: 3+ years of SQL, Tableau, Python."
>>> ev = extract(jd, "Analyst, Acme (2020-2024): SQL and Tableau.", today=date(2025, 1, 1),
...              rules=rules)
>>> print(render(ev, budget_tokens=rules.render_budget_tokens))
Must-have met: SQL, Tableau; missing: Python. Years: 4 of 3 required (meets). Flags: none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from hrstack.validators.evidence_flags import Flag, integrity_flags, relevant_months
from hrstack.validators.evidence_jd import Wanted, parse_job
from hrstack.validators.evidence_profile import parse_candidate
from hrstack.validators.evidence_render import render
from hrstack.validators.evidence_rules import EvidenceRules
from hrstack.validators.evidence_terms import Vocabulary, vocabulary
from hrstack.validators.injection import invisible_characters

__all__ = ["Evidence", "Flag", "Requirement", "extract", "render"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement of the posting; ``checkable`` False for ones text cannot show."""

    name: str
    met: bool
    checkable: bool = True


@dataclass(frozen=True, slots=True)
class Evidence:
    must_have: tuple[Requirement, ...]
    nice_to_have: tuple[Requirement, ...]
    years_relevant: float | None
    years_required: int | None
    flags: tuple[Flag, ...]
    profile: str  # "json" | "text"

    @property
    def must_have_met(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.must_have if r.checkable and r.met)

    @property
    def must_have_missing(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.must_have if r.checkable and not r.met)

    @property
    def nice_to_have_met(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.nice_to_have if r.checkable and r.met)

    @property
    def nice_to_have_missing(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.nice_to_have if r.checkable and not r.met)

    @property
    def unchecked(self) -> tuple[str, ...]:
        return tuple(r.name for r in (*self.must_have, *self.nice_to_have) if not r.checkable)

    def with_flags(self, extra: Iterable[Flag]) -> Evidence:
        """Add flags found elsewhere (the gateway's screening sees hidden text before it is
        stripped); one flag per kind and detail."""
        flags = tuple(dict.fromkeys((*self.flags, *extra)))
        return replace(self, flags=flags)


def extract(job_description: str, candidate: str, *, today: date, rules: EvidenceRules) -> Evidence:
    """The evidence for one candidate against one posting; never raises on odd text."""
    vocab = vocabulary(rules)
    job = parse_job(job_description, rules, vocab)
    # Invisible characters hide text from a reader and split words for a parser: read the text
    # without them (as the gateway's screening does) and report them as a flag.
    visible, invisible = invisible_characters(candidate)
    profile = parse_candidate(visible, today, rules)
    haystack = profile.text + "\n" + "\n".join(s.name for s in profile.skills)
    must = tuple(_requirement(w, haystack, vocab) for w in job.must_have)
    nice = tuple(_requirement(w, haystack, vocab) for w in job.nice_to_have)
    names = tuple(a for w in job.must_have if w.checkable for a in w.alternatives)
    months = relevant_months(profile, job.title, names, rules, vocab)
    years = round(months / 12, 1) if months is not None else profile.stated_years
    flags = integrity_flags(profile, today, rules, vocab, invisible)
    return Evidence(must, nice, years, job.years_required, flags, profile.kind)


def _requirement(wanted: Wanted, haystack: str, vocab: Vocabulary) -> Requirement:
    met = any(_shows(alternative, haystack, vocab) for alternative in wanted.alternatives)
    return Requirement(wanted.name, met, wanted.checkable)


def _shows(phrase: str, haystack: str, vocab: Vocabulary) -> bool:
    """Any spelling of ``phrase``; for a phrase the table does not know that names a thing it
    does ("Kubernetes clusters"), any spelling of that thing."""
    if vocab.pattern(phrase).search(haystack):
        return True
    if vocab.name_of(phrase):
        return False
    known = vocab.known_in(phrase)
    return bool(known) and all(vocab.patterns[name].search(haystack) for name in known)

"""Typed schema for ``configs/evidence.yaml``: the tables behind rank evidence and guards.

Like validators/rules.py, no field has a code default: synonyms, release years and thresholds
live in one YAML file that the gateway, the training data and the tests all load, so what the
served prompt says about a candidate cannot drift from what training saw. Unknown keys are
errors (``extra="forbid"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hrstack.validators.config import CONFIGS_DIR_ENV, RulesConfigError, configs_dir

EVIDENCE_FILE = "evidence.yaml"
#: A fully cut block ("Must-have met: (+9 more); missing: (+9 more). ... Flags: (+9 more).")
#: still holds its fixed wording; a smaller budget could not be kept.
MIN_RENDER_BUDGET_TOKENS = 128


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(" ".join(word.casefold().split()) for word in words)


class EvidenceThresholds(_Rules):
    overlap_months: int = Field(
        ge=0, description="Full-time roles overlapping longer than this are flagged."
    )
    tenure_slack_years: float = Field(
        ge=0,
        description="Dated roles (or a skill's years) may exceed the stated total by this much "
        "(year-only dates round), not more.",
    )
    tech_slack_years: float = Field(
        ge=0, description="Years claimed at a technology beyond its age that are still tolerated."
    )


class GuardRules(_Rules):
    missing_must_have_cap: float = Field(
        ge=0.0,
        le=1.0,
        description="A candidate missing a must-have is rejected with at most this score.",
    )
    match_missing_must_have_cap: int = Field(
        ge=0,
        le=100,
        description="/v1/match: a candidate missing a must-have scores at most this (0-100) "
        "and is not recommended for interview.",
    )
    verify_on: frozenset[str] = Field(
        description="Flag kinds that send a candidate to human verification instead of a "
        "final decision; a flag is never an automatic reject."
    )


class EvidenceRules(_Rules):
    must_have_headings: frozenset[str] = Field(description="Headings of must-have sections.")
    nice_to_have_headings: frozenset[str] = Field(description="Headings of nice-to-have sections.")
    soft_skill_words: frozenset[str] = Field(
        description="Words of requirements a resume cannot show by naming them: unchecked."
    )
    max_requirement_words: int = Field(
        ge=1, description="Longer requirements are sentences, not checkable items: unchecked."
    )
    education_words: frozenset[str] = Field(
        description="Words that make a dated resume line schooling rather than a job."
    )
    lead_ins: tuple[str, ...] = Field(
        description="Words opening a requirement that are not part of it ('experience with')."
    )
    trailing: tuple[str, ...] = Field(
        description="Words closing a requirement that are not part of it ('required')."
    )
    synonyms: tuple[tuple[str, ...], ...] = Field(
        description="One row per thing: every spelling of it, the display name first."
    )
    case_sensitive: frozenset[str] = Field(
        description="Aliases matched in exact case only, because in lower case they are "
        "ordinary words ('go', 'ai')."
    )
    release_years: dict[str, int] = Field(
        description="Year each technology became public; more years claimed is a flag."
    )
    part_time_words: frozenset[str] = Field(
        description="Role-title words of roles that are not full-time (their overlap is fine)."
    )
    generic_title_words: frozenset[str] = Field(
        description="Title words that do not name a field, ignored when judging relevance."
    )
    expert_levels: frozenset[str] = Field(description="Skill levels that claim mastery.")
    render_budget_tokens: int = Field(
        ge=MIN_RENDER_BUDGET_TOKENS,
        description="Most tokens (validators.evidence_render.estimate_tokens, an over-count) "
        "of the rank prompt's evidence block; longer blocks are cut, flags and missing "
        "must-haves last, so a posting naming dozens of skills cannot overflow the context.",
    )
    thresholds: EvidenceThresholds
    guards: GuardRules

    @field_validator(
        "must_have_headings",
        "nice_to_have_headings",
        "soft_skill_words",
        "education_words",
        "part_time_words",
        "generic_title_words",
        "expert_levels",
    )
    @classmethod
    def _casefold(cls, words: frozenset[str]) -> frozenset[str]:
        return _folded(words)

    @field_validator("lead_ins", "trailing")
    @classmethod
    def _longest_first(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        """Longest first, so 'strong skills in' is stripped before 'strong'."""
        return tuple(sorted({" ".join(w.casefold().split()) for w in words}, key=len, reverse=True))

    @model_validator(mode="after")
    def _one_row_per_alias(self) -> Self:
        seen: dict[str, str] = {}
        for row in self.synonyms:
            if not row:
                raise ValueError("a synonyms row is empty; list the spellings or drop the row")
            for alias in row:
                key = alias.casefold()
                if key in seen and seen[key] != row[0]:
                    raise ValueError(
                        f"alias {alias!r} is in the rows of both {seen[key]!r} and {row[0]!r}; "
                        "an alias must name one thing"
                    )
                seen[key] = row[0]
        return self


def load_evidence_rules(path: Path | None = None) -> EvidenceRules:
    """Read ``configs/evidence.yaml`` (or ``path``); errors name the file and the bad key."""
    source = path if path is not None else configs_dir() / EVIDENCE_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesConfigError(
            f"{source}: cannot read evidence rules ({exc.strerror}); set {CONFIGS_DIR_ENV} to "
            f"the folder holding {EVIDENCE_FILE} or pass its path"
        ) from exc
    except yaml.YAMLError as exc:
        raise RulesConfigError(f"{source}: not valid YAML: {exc}") from exc
    try:
        return EvidenceRules.model_validate(data)
    except ValidationError as exc:
        raise RulesConfigError(f"{source}: invalid evidence rules:\n{exc}") from exc

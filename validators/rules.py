"""Typed schema for ``configs/validators.yaml``: the thresholds every domain validator applies.

No field has a default on purpose: the numbers live in one YAML file that serving, evaluation
and GRPO rewards all load, so a threshold cannot silently differ between a code default and the
file. Unknown keys are errors (``extra="forbid"``) so a typo cannot fall back to nothing.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DECODING = (
    "Decoding bound: the grammar (validators/grammar.py) stops there; the validator does not "
    "fail longer answers from elsewhere."
)


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _LengthBounds(_Rules):
    min_chars: int = Field(
        ge=0, description="Shortest acceptable answer; shorter ones are truncated or evasive."
    )
    max_chars: int = Field(
        ge=1, description="Longest acceptable answer; longer ones ramble or loop on repeats."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min_chars > self.max_chars:
            raise ValueError(
                f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars}), so no "
                "answer could pass; lower min_chars or raise max_chars"
            )
        return self


class ResumeGuidanceRules(_LengthBounds):
    min_items: int = Field(
        ge=1, description="Fewest numbered tips; fewer is not actionable guidance."
    )
    min_ats_keywords: int = Field(
        ge=1,
        description="Keywords needed after an 'ATS Keywords:' line for it to satisfy the ATS rule.",
    )
    min_commas: int = Field(
        ge=0,
        description=(
            "Commas that satisfy the ATS rule without the keyword line: training accepted "
            "inline keyword lists ('Python, SQL, ...') and production must agree with it."
        ),
    )
    max_items: int = Field(
        ge=1, description="Most numbered tips the grammar allows (no run-on list). " + _DECODING
    )
    max_item_chars: int = Field(ge=2, description="Longest tip line. " + _DECODING)
    max_ats_keywords: int = Field(
        ge=1, description="Most keywords on the grammar's 'ATS Keywords:' line. " + _DECODING
    )
    max_ats_keyword_chars: int = Field(ge=2, description="Longest such keyword. " + _DECODING)


class JobDescriptionRules(_LengthBounds):
    min_bullets: int = Field(
        ge=1,
        description="Bullets needed in each of Responsibilities and Requirements to be usable.",
    )
    max_bullets: int = Field(ge=1, description="Most bullets per section. " + _DECODING)
    max_bullet_chars: int = Field(ge=2, description="Longest bullet line. " + _DECODING)
    max_summary_chars: int = Field(ge=2, description="Longest summary line. " + _DECODING)
    max_optional_sections: int = Field(
        ge=0, description="Optional sections (Benefits, ...) the grammar allows. " + _DECODING
    )


class _ProtectedTerms(_Rules):
    """The protected-attribute vocabulary a decision's reasons may not use (rank and match)."""

    protected_terms: dict[str, frozenset[str]] = Field(
        description=(
            "Words and phrases that name a protected attribute, by category (gender, age, "
            "religion, ...). A reason using one fails: a hiring decision may not rest on them. "
            "The gateway redacts the same words from candidate text before rank and match."
        ),
    )

    @field_validator("protected_terms")
    @classmethod
    def _casefold_terms(cls, terms: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        empty = sorted(category for category, words in terms.items() if not words)
        if empty:
            raise ValueError(
                f"protected_terms categories {empty} list no words; list some or drop the key"
            )
        return {
            category: frozenset(" ".join(word.casefold().split()) for word in words)
            for category, words in terms.items()
        }


class JobResumeMatchRules(_LengthBounds, _ProtectedTerms):
    min_strengths: int = Field(
        ge=0, description="Strength bullets a recruiter needs to justify the score."
    )
    min_gaps: int = Field(
        ge=0, description="Gap bullets needed; an honest match names what is missing."
    )
    max_strengths: int = Field(ge=1, description="Most strength bullets. " + _DECODING)
    max_gaps: int = Field(ge=1, description="Most gap bullets. " + _DECODING)
    max_bullet_chars: int = Field(ge=2, description="Longest bullet line. " + _DECODING)
    max_reason_chars: int = Field(
        ge=2, description="Longest reason after the recommendation word. " + _DECODING
    )


class RecruitingStrategyRules(_LengthBounds):
    min_items: int = Field(ge=1, description="Fewest numbered steps that make a strategy.")
    max_items: int = Field(ge=1, description="Most numbered steps (no run-on list). " + _DECODING)
    max_item_chars: int = Field(ge=2, description="Longest step line. " + _DECODING)


class AtsKeywordsRules(_Rules):
    min_keywords: int = Field(
        ge=1, description="Distinct keywords needed for the list to help with ATS matching."
    )
    max_keyword_words: int = Field(
        ge=1, description="Longest keyword in words; longer items are sentences, not keywords."
    )
    max_keyword_chars: int = Field(
        ge=1, description="Longest keyword in characters; ATS filters match short terms."
    )
    min_from_input_share: float = Field(
        ge=0.0,
        le=1.0,
        description=(
            "Share of keywords that must occur in the job description: an ATS matches the "
            "posting's own terms, and a small model otherwise copies its prompt's example list."
        ),
    )
    max_keywords: int = Field(ge=1, description="Most keywords in the list. " + _DECODING)
    grammar_candidates: int = Field(
        ge=1,
        description=(
            "Phrases of the posting offered to the per-request grammar (each keyword must be "
            "one of them). More choice costs compile time: ~0.1 ms per phrase, measured."
        ),
    )
    keyword_sections: tuple[str, ...] = Field(
        min_length=1,
        description=(
            "Posting headings whose sections keywords come from (with the title line); a "
            "posting without any of them is read whole."
        ),
    )


class RankRules(_ProtectedTerms):
    min_reasons: int = Field(ge=1, description="Fewest reasons; a bare verdict is not reviewable.")
    max_reasons: int = Field(ge=1, description="Most reasons; more is padding, not ranking.")
    max_reason_chars: int = Field(
        ge=1, description="Longest reason; a reason is one claim, not a paragraph."
    )
    shortlist_min_score: float = Field(
        ge=0.0,
        le=1.0,
        description="Decision threshold: 'shortlist' iff score >= this, else 'reject'.",
    )
    copied_min_chars: int = Field(
        ge=1,
        description=(
            "A reason at least this long that appears verbatim in the job description or "
            "candidate text is copied, not reasoned; shorter matches ('Python') are fine."
        ),
    )
    grounding_stopwords: frozenset[str] = Field(
        description=(
            "Capitalised words that need not appear in the context (pronoun 'I', words about "
            "the task itself such as 'Candidate'); every other capitalised word must."
        ),
    )

    generic_words: frozenset[str] = Field(
        description=(
            "Words that do not tie a reason to these inputs ('candidate', 'experience'); each "
            "reason needs at least one other word of 4+ letters that occurs in the inputs."
        ),
    )

    @field_validator("grounding_stopwords", "generic_words")
    @classmethod
    def _casefold_stopwords(cls, words: frozenset[str]) -> frozenset[str]:
        return frozenset(word.casefold() for word in words)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min_reasons > self.max_reasons:
            raise ValueError(
                f"min_reasons ({self.min_reasons}) is above max_reasons ({self.max_reasons}), "
                "so no answer could pass; lower min_reasons or raise max_reasons"
            )
        return self


class ValidatorRules(_Rules):
    """One section per domain; the field names are the domain names the registry uses."""

    resume_guidance: ResumeGuidanceRules = Field(description="Numbered resume tips + ATS rule.")
    job_description: JobDescriptionRules = Field(description="Sectioned job descriptions.")
    job_resume_match: JobResumeMatchRules = Field(description="Scored job/resume comparisons.")
    recruiting_strategy: RecruitingStrategyRules = Field(description="Numbered hiring plans.")
    ats_keywords: AtsKeywordsRules = Field(description="Numbered ATS keyword lists.")
    rank: RankRules = Field(description="JSON shortlist/reject verdicts with grounded reasons.")

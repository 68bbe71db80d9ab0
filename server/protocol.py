"""Request and response models of the task API.

Every field is documented and bounded: a request that is empty, oversized or of the wrong type
is refused with 422 naming the field, before any token is spent on it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Character bounds are a ceiling on what is read at all (a 20k-character resume is ~5k tokens);
# what fits is decided in tokens: the prompt plus the domain's answer budget must fit the served
# model's context (MAX_MODEL_LEN of the profile, 8,192 tokens on CPU), else 422
# context_length_exceeded naming each field and its token count (server.sizing).
TOKEN_LIMIT_NOTE = (
    " At most 20,000 characters; the whole prompt must also fit the served model's context in "
    "tokens (with the answer budget), else 422 `context_length_exceeded` with each field's "
    "token count."
)
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
MediumText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4_000)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def prompt_fields(self) -> dict[str, str | None]:
        return {k: v for k, v in self.model_dump().items() if isinstance(v, str) or v is None}


class ResumeGuidanceRequest(_Request):
    resume: LongText = Field(description="The resume as plain text." + TOKEN_LIMIT_NOTE)
    target_role: ShortText | None = Field(None, description="Role the resume should aim at.")


class JobDescriptionRequest(_Request):
    title: ShortText = Field(description="Job title, e.g. 'Senior Data Engineer'.")
    company: ShortText | None = Field(None, description="Company name and one-line context.")
    details: MediumText | None = Field(
        None, description="Notes to include: team, stack, location, seniority, must-haves."
    )


class MatchRequest(_Request):
    job_description: LongText = Field(
        description="The job description as plain text." + TOKEN_LIMIT_NOTE
    )
    resume: LongText = Field(description="The candidate's resume as plain text." + TOKEN_LIMIT_NOTE)
    candidate_id: ShortText | None = Field(
        None,
        description="Your identifier for the candidate (default 'candidate'); the audit log "
        "records it, and `hrstack audit impact --domain match` joins demographics on it.",
    )


class RecruitingStrategyRequest(_Request):
    role: ShortText = Field(description="The role to hire for.")
    context: MediumText | None = Field(
        None, description="Constraints: headcount, timeline, budget, location, market."
    )


class AtsKeywordsRequest(_Request):
    job_description: LongText = Field(
        description="The job description as plain text." + TOKEN_LIMIT_NOTE
    )


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ShortText = Field(description="Your identifier for the candidate; echoed in the result.")
    resume: LongText = Field(
        description="The candidate's resume or profile as plain text." + TOKEN_LIMIT_NOTE
    )


class RankRequest(BaseModel):
    """One candidate (``candidate``) or a batch (``candidates``) against one job description."""

    model_config = ConfigDict(extra="forbid")

    job_description: LongText = Field(
        description="The job description as plain text." + TOKEN_LIMIT_NOTE
    )
    candidate: LongText | None = Field(
        None, description="A single candidate's resume text." + TOKEN_LIMIT_NOTE
    )
    candidate_id: ShortText | None = Field(
        None,
        description="Your identifier for the single 'candidate' (default 'candidate'); the "
        "audit log records it, and `hrstack audit impact` joins demographics on it.",
    )
    candidates: list[CandidateIn] | None = Field(
        None, min_length=1, max_length=50, description="Several candidates, ranked by score."
    )

    @model_validator(mode="after")
    def _one_of(self) -> RankRequest:
        if (self.candidate is None) == (self.candidates is None):
            raise ValueError(
                "give exactly one of 'candidate' (one resume) or 'candidates' (a list)"
            )
        if self.candidate_id is not None and self.candidates is not None:
            raise ValueError("'candidate_id' goes with 'candidate'; in 'candidates' use each 'id'")
        if self.candidates is not None:
            ids = [c.id for c in self.candidates]
            if len(set(ids)) != len(ids):
                raise ValueError("candidate ids must be unique within one request")
        return self

    def candidate_list(self) -> list[CandidateIn]:
        if self.candidates is not None:
            return self.candidates
        assert self.candidate is not None
        return [CandidateIn(id=self.candidate_id or "candidate", resume=self.candidate)]


class CheckReport(BaseModel):
    name: str = Field(description="The rule's name, stable per domain.")
    ok: bool
    detail: str = Field(description="Why it failed, or what was seen.")


class ValidationReport(BaseModel):
    ok: bool = Field(description="True exactly when every check passed.")
    checks: list[CheckReport]
    failed: list[str] = Field(description="Names of the failed checks.")


class AttemptReport(BaseModel):
    """One attempt of the retry loop: what it was asked and which checks its answer failed."""

    attempt: int = Field(description="1 for the first try.")
    mode: Literal["first", "repair", "reseed"] = Field(
        description="first; repair (the model was shown its last answer and the failed checks) "
        "or reseed (the same prompt with a new seed)."
    )
    constrained: bool = Field(description="Decoded under the domain's grammar or JSON schema.")
    failed: list[str] = Field(description="Names of the checks this attempt's answer failed.")
    details: dict[str, str] = Field(
        default_factory=dict, description="Each failed check's detail, by name."
    )
    completion_tokens: int = 0


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class InputFlag(BaseModel):
    field: str = Field(description="The request field the finding is in.")
    kind: str = Field(description="prompt_injection, hidden_text, delimiter or keyword_stuffing.")
    pattern: str = Field(description="Which rule matched, e.g. ignore_instructions.")
    excerpt: str = Field(description="What matched (invisible characters shown escaped).")


class RedactionItem(BaseModel):
    category: str = Field(description="name, contact, url, age, gender, religion, ...")
    placeholder: str = Field(description="What the model read instead, e.g. [NAME].")
    original: str = Field(description="The redacted text (only with include_redactions).")


class TaskResponse(BaseModel):
    id: str = Field(description="Request id, also in the X-Request-ID header and the log.")
    domain: str
    model: str = Field(description="The served model name that produced the answer.")
    text: str = Field(description="The final answer. Seeded domains start with '1. '.")
    valid: bool = Field(description="The answer passed every check of its domain's validator.")
    validation: ValidationReport
    attempts: int = Field(description="Attempts used, the first included.")
    attempt_history: list[AttemptReport] = Field(
        default_factory=list, description="Every attempt's failed checks, in order."
    )
    usage: Usage = Field(description="Tokens summed over all attempts.")
    flags: list[InputFlag] = Field(
        default_factory=list,
        description="Suspicious input: injection phrasing (neutralized before prompting), "
        "hidden text, delimiter tags. Empty when nothing was found.",
    )


class ResumeGuidanceResponse(TaskResponse):
    items: list[str] = Field(default_factory=list, description="The numbered suggestions.")
    ats_keywords: list[str] = Field(
        default_factory=list, description="From the 'ATS Keywords:' line."
    )


class JobDescriptionResponse(TaskResponse):
    sections: dict[str, list[str]] = Field(
        default_factory=dict, description="Bullets by canonical section name."
    )


class RecruitingStrategyResponse(TaskResponse):
    items: list[str] = Field(default_factory=list, description="The numbered plan steps.")


class AtsKeywordsResponse(TaskResponse):
    keywords: list[str] = Field(default_factory=list)


class IntegrityFlag(BaseModel):
    kind: str = Field(
        description="tenure_exceeds_total, tech_older_than_release, overlapping_roles, "
        "expert_without_evidence, impossible_education, prompt_injection or hidden_text."
    )
    detail: str = Field(description="What does not add up: roles, technologies, numbers.")


class EvidenceSummary(BaseModel):
    """What the gateway read from the job and the candidate before asking the model."""

    must_have_met: list[str] = Field(description="Must-haves the candidate shows.")
    must_have_missing: list[str] = Field(description="Must-haves the candidate does not show.")
    nice_to_have_met: list[str]
    nice_to_have_missing: list[str]
    unchecked: list[str] = Field(
        description="Requirements text cannot show (soft skills, long sentences); never missing."
    )
    years_relevant: float | None = Field(description="Years in roles relevant to the job.")
    years_required: int | None = Field(description="Years the job asks for, if it says.")
    flags: list[IntegrityFlag] = Field(description="Integrity flags; any sends it to verify.")


class OverrideReport(BaseModel):
    rule: str = Field(description="missing_must_have or integrity_flags.")
    before: str = Field(description="What the model said (decision and score, or status).")
    after: str = Field(description="What the guard made of it.")
    reason: str = Field(description="Why, e.g. 'missing must-have: Python'.")


class RankResult(BaseModel):
    candidate_id: str
    decision: Literal["shortlist", "reject"] | None = Field(
        None, description="After guards: a candidate missing a must-have is never shortlisted."
    )
    score: float | None = Field(
        None, description="After guards (capped when a must-have is missing)."
    )
    status: Literal["shortlist", "reject", "verify"] = Field(
        description="What to do: the decision, or 'verify' when integrity flags (or an "
        "unusable answer) need a person; a flag is never an automatic reject."
    )
    evidence: EvidenceSummary
    overrides: list[OverrideReport] = Field(
        default_factory=list, description="Every change the guards made to the model's verdict."
    )
    reasons: list[str] = Field(default_factory=list)
    text: str = Field(description="The raw JSON the model produced (before guards).")
    valid: bool
    validation: ValidationReport
    attempts: int
    attempt_history: list[AttemptReport] = Field(
        default_factory=list, description="Every attempt's failed checks, in order."
    )
    usage: Usage
    flags: list[InputFlag] = Field(default_factory=list, description="As for other tasks.")
    redacted: dict[str, int] = Field(
        default_factory=dict,
        description="Protected-attribute spans removed from the resume before ranking, counted "
        "by category.",
    )
    redactions: list[RedactionItem] | None = Field(
        None, description="What was redacted, only when ?include_redactions=true."
    )


class MatchResponse(TaskResponse):
    """A match is a screening decision, held to rank's rules: the resume is redacted before the
    model reads it, the evidence block grounds the answer, guards overrule it, and every
    answered match is one line of the audit log."""

    candidate_id: str = Field(description="As sent (default 'candidate'); in the audit log.")
    score: int | None = Field(
        None, description="Match score 0-100, after guards (capped when a must-have is missing)."
    )
    strengths: list[str] = Field(default_factory=list)
    gaps: list[str] = Field(default_factory=list)
    recommendation: str | None = Field(None, description="The model's line, as it wrote it.")
    decision: Literal["interview", "consider", "reject"] | None = Field(
        None,
        description="After guards: a candidate missing a must-have is never put forward for "
        "interview. None when the answer names none.",
    )
    status: Literal["interview", "consider", "reject", "verify"] = Field(
        description="What to do: the decision, or 'verify' when integrity flags (or an "
        "unusable answer) need a person; a flag is never an automatic reject."
    )
    evidence: EvidenceSummary
    overrides: list[OverrideReport] = Field(
        default_factory=list, description="Every change the guards made to the model's verdict."
    )
    redacted: dict[str, int] = Field(
        default_factory=dict,
        description="Protected-attribute spans removed from the resume, counted by category.",
    )
    redactions: list[RedactionItem] | None = Field(
        None, description="What was redacted, only when ?include_redactions=true."
    )


class RankResponse(BaseModel):
    id: str
    domain: Literal["rank"] = "rank"
    model: str
    results: list[RankResult] = Field(
        description="Sorted by score, highest first, equal scores by candidate_id (so the order "
        "does not depend on the order sent); unscored last."
    )
    valid: bool = Field(description="Every result passed validation.")
    usage: Usage = Field(description="Tokens summed over all candidates and attempts.")


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, why, and what to do.")
    type: str
    param: str | None = Field(None, description="The offending field, e.g. body.resume.")
    code: str


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint (some codes add keys, e.g. ``reports``)."""

    error: ErrorDetail


class DomainInfo(BaseModel):
    name: str
    path: str
    summary: str
    seed: str | None
    constraint: str = Field(description="grammar, json_schema or none (how decoding is bound).")
    retry: str = Field(description="repair or reseed: what attempts after the first do.")
    max_attempts: int
    requirements: list[str] = Field(description="What a valid answer must satisfy.")


def parsed_fields(model: type[BaseModel], parsed: dict[str, Any]) -> dict[str, Any]:
    """The validator's parsed values that the response model has fields for."""
    return {k: v for k, v in parsed.items() if k in model.model_fields}

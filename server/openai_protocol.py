"""The OpenAI-compatible front door's wire format: what the OpenAI SDK, LiteLLM and LangChain
send to ``/v1/chat/completions`` and read back, and how a chat request becomes a task request.

One model per domain (``hrstack-resume-guidance`` ... ``hrstack-rank``). A chat request runs
that domain's whole path, exactly as its task route does; the answer is
``choices[0].message.content`` and the task route's own response (validation report, attempts,
flags, and for the decisions their decision, score, status and overrides) travels in one extra
field, ``hrstack``.

Where the domain's fields come from (the README's "OpenAI-compatible API" says the same):

- the **last user message** is the input. A JSON object there is the task route's body
  (``{"job_description": ..., "candidate": ...}``); any other text is the domain's one main
  field (the resume, the job title, the role, the job description). Match and rank need two
  texts, so they take the JSON object form only.
- ``hrstack.fields`` (the SDK's ``extra_body={"hrstack": {"fields": {...}}}``) fills the
  others (``target_role``, ``company``, ``candidate_id``); a field given both ways is refused.
- system, developer and earlier messages are not read: each domain has its own prompt, which
  is what its validators were written against. The sampling knobs (temperature, max_tokens,
  ...) are accepted and not applied, for the same reason; ``seed`` is applied.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hrstack.server.protocol import (
    AtsKeywordsResponse,
    JobDescriptionResponse,
    MatchResponse,
    RankResponse,
    RecruitingStrategyResponse,
    ResumeGuidanceResponse,
    Usage,
)

#: Request keys the front door cannot honour; silently ignoring them would answer another
#: question than the one asked.
UNSUPPORTED = {
    "tools": "hrstack models answer their own task and call no tools",
    "functions": "hrstack models answer their own task and call no functions",
    "tool_choice": "hrstack models answer their own task and call no tools",
    "response_format": "each hrstack model decodes under its own domain's constraint",
    "logprobs": "log probabilities are not returned",
}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Only 'text' parts are read.")
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class HrstackOptions(BaseModel):
    """What the task routes take as query parameters, for clients that can only send a body."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Task fields beside the one in the last user message (e.g. target_role).",
    )
    strict: bool = Field(
        False, description="Turn a final validation failure into a 422 (not with stream)."
    )
    max_attempts: int | None = Field(
        None, ge=1, le=10, description="Lower the domain's attempt budget."
    )
    include_redactions: bool = Field(
        False, description="Return what was redacted from resumes (match, rank)."
    )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request. Unknown keys are accepted and ignored, as OpenAI's own clients
    add new ones often; the ones in ``UNSUPPORTED`` are refused with 400 naming them."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="One of GET /v1/models, e.g. 'hrstack-rank'.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=64,
        description="Only the last user message is read: the task's JSON body, or the "
        "domain's main field as plain text.",
    )
    stream: bool = Field(False, description="Server-sent events in OpenAI's chunk format.")
    stream_options: StreamOptions | None = Field(
        None, description="include_usage: a last chunk with the request's token usage."
    )
    seed: int | None = Field(
        None, ge=0, le=2**31 - 1, description="Sampling seed of the first attempt."
    )
    n: Literal[1] = Field(1, description="One answer per request.")
    hrstack: HrstackOptions = Field(
        default_factory=HrstackOptions,
        description="hrstack's own options (the SDK's extra_body): fields, strict, "
        "max_attempts, include_redactions.",
    )

    @model_validator(mode="after")
    def _supported(self) -> ChatCompletionRequest:
        for key, why in UNSUPPORTED.items():
            if (self.model_extra or {}).get(key) not in (None, False, [], {}):
                raise ValueError(f"'{key}' is not supported: {why}")
        return self


#: The task route's own response, as the ``hrstack`` field carries it.
TaskAnswer = (
    ResumeGuidanceResponse
    | JobDescriptionResponse
    | RecruitingStrategyResponse
    | AtsKeywordsResponse
    | MatchResponse
    | RankResponse
)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str = Field(
        description="The domain's prompt version (prompts, sampling and rules hashed), as the "
        "audit log records it."
    )
    choices: list[Choice]
    usage: Usage = Field(description="Summed over every attempt.")
    hrstack: TaskAnswer = Field(
        description="What the domain's task route answers: the validation report, attempts, "
        "flags and, for match and rank, decision, score, status, evidence and overrides."
    )


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "hrstack"
    root: str = Field(description="The model vLLM serves underneath every domain.")
    domain: str
    task_route: str = Field(description="The task route answering the same requests.")
    streams: bool = Field(description="Whether stream=true sends the answer as it is written.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]

"""GET /v1/models and POST /v1/chat/completions: the task routes behind OpenAI's protocol.

A chat request is mapped to its domain's task body (server.openai_protocol says how) and then
handed to that domain's own route function, so screening, redaction, evidence, seeding,
constraints, validation, retries, guards and the audit log are the task route's, not a copy;
the edge (server.edge) has already applied auth, the body limit, admission and the deadline.

Streaming (``stream: true``) sends the four text domains' answers as vLLM writes them, in
OpenAI's chunk format, from one attempt: the client has read the answer before it can be
judged, so there is no retry, and the last content chunk is followed by one carrying
``finish_reason`` and the ``hrstack`` report (``valid: false`` when it failed). Match and rank
are decisions: guards and the audit log come after the model's answer, so they are sent whole,
as one content chunk, once decided. A client that disconnects cancels the engine request.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from hrstack.server.errors import BadChatRequest, GatewayError, error_body
from hrstack.server.openai_protocol import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    TaskAnswer,
)
from hrstack.server.protocol import (
    AtsKeywordsRequest,
    AtsKeywordsResponse,
    JobDescriptionRequest,
    JobDescriptionResponse,
    MatchRequest,
    RankRequest,
    RankResponse,
    RecruitingStrategyRequest,
    RecruitingStrategyResponse,
    ResumeGuidanceRequest,
    ResumeGuidanceResponse,
    TaskResponse,
    _Request,
)
from hrstack.server.routes import match as match_route
from hrstack.server.routes import rank as rank_route
from hrstack.server.routes.common import (
    RequestIdDep,
    ServiceDep,
    TaskOptions,
    answer,
    task_response,
)
from hrstack.server.routes.tasks import ERRORS
from hrstack.server.service import Outcome, TaskService

router = APIRouter(prefix="/v1", tags=["openai"])
#: When the gateway started; OpenAI's model list carries a creation time.
STARTED = int(time.time())


@dataclass(frozen=True, slots=True)
class Door:
    """One domain as an OpenAI model: its task body, the field plain text fills, its answer."""

    domain: str
    request: type[BaseModel]
    main_field: str | None  # None: the domain needs two texts, so a JSON object
    response: type[TaskResponse] | None  # None: a decision, answered by its own route

    @property
    def streams(self) -> bool:
        return self.response is not None


DOORS = {
    door.domain: door
    for door in (
        Door("resume_guidance", ResumeGuidanceRequest, "resume", ResumeGuidanceResponse),
        Door("job_description", JobDescriptionRequest, "title", JobDescriptionResponse),
        Door("recruiting_strategy", RecruitingStrategyRequest, "role", RecruitingStrategyResponse),
        Door("ats_keywords", AtsKeywordsRequest, "job_description", AtsKeywordsResponse),
        Door("job_resume_match", MatchRequest, None, None),
        Door("rank", RankRequest, None, None),
    )
}


def model_name(path: str) -> str:
    """``/v1/resume-guidance`` -> ``hrstack-resume-guidance``: the route's name, prefixed."""
    return "hrstack-" + path.rsplit("/", 1)[-1]


def _models(service: TaskService) -> dict[str, Door]:
    return {model_name(service.domains[name].path): DOORS[name] for name in DOORS}


@router.get("/models", summary="One model per domain, as OpenAI's model list")
async def models(service: ServiceDep) -> ModelList:
    return ModelList(
        data=[
            ModelCard(
                id=name,
                created=STARTED,
                root=service.model,
                domain=door.domain,
                task_route=service.domains[door.domain].path,
                streams=door.streams,
            )
            for name, door in _models(service).items()
        ]
    )


def _last_user_text(body: ChatCompletionRequest) -> tuple[int, str]:
    for index in range(len(body.messages) - 1, -1, -1):
        message = body.messages[index]
        if message.role != "user":
            continue
        if isinstance(message.content, str):
            return index, message.content
        parts = message.content or []
        for k, part in enumerate(parts):
            if part.type != "text":
                param = f"messages[{index}].content[{k}].type"
                raise BadChatRequest(f"{param}: only text parts are read, got {part.type!r}",
                                     param=param)  # fmt: skip
        return index, "\n".join(part.text or "" for part in parts)
    raise BadChatRequest("messages: no user message; the last one is the input", param="messages")


def task_body(name: str, door: Door, body: ChatCompletionRequest) -> BaseModel:
    """The domain's task body from the chat request (see server.openai_protocol), validated by
    the task route's own model; a problem is a 400 naming where the field came from."""
    index, text = _last_user_text(body)
    source = f"messages[{index}].content"
    parsed: Any = None
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            if door.main_field is None:
                raise BadChatRequest(f"{source}: not a JSON object ({exc})", param=source) from exc
    if isinstance(parsed, dict):
        from_message = parsed
    elif door.main_field is not None:
        from_message = {door.main_field: text}
    else:
        needs = " and ".join(f"'{f}'" for f in _required(door.request))
        raise BadChatRequest(
            f"{source}: {name} needs {needs}: send them as a JSON object in the last user "
            "message, or in hrstack.fields",
            param=source,
        )
    given = body.hrstack.fields
    for key in sorted(from_message.keys() & given.keys()):
        param = f"hrstack.fields.{key}"
        raise BadChatRequest(f"{param}: also given in {source}; send it once", param=param)
    try:
        return door.request.model_validate({**from_message, **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        where = "hrstack.fields" if loc and loc[0] in given else source
        param = ".".join([where, *loc])
        raise BadChatRequest(f"{param}: {error['msg']}", param=param) from exc


def _required(model: type[BaseModel]) -> list[str]:
    names = [name for name, field in model.model_fields.items() if field.is_required()]
    if model is RankRequest:
        names.append("candidate")  # or 'candidates': one of the two is required
    return names


def _content(answer: TaskAnswer) -> str:
    """The answer as text: a text domain's validated answer; rank's guarded verdicts as JSON."""
    if isinstance(answer, RankResponse):
        verdicts = [
            {
                "candidate_id": r.candidate_id,
                "decision": r.decision,
                "score": r.score,
                "status": r.status,
                "reasons": r.reasons,
            }
            for r in answer.results
        ]
        return json.dumps({"results": verdicts}, ensure_ascii=False)
    return answer.text


async def _answer(
    door: Door,
    task: BaseModel,
    request: Request,
    service: TaskService,
    options: TaskOptions,
    rid: str,
    include_redactions: bool,
) -> TaskAnswer:
    """The domain's own route function: one path for both doors."""
    if isinstance(task, RankRequest):
        return await rank_route.rank(task, request, service, options, rid, include_redactions)
    if isinstance(task, MatchRequest):
        return await match_route.match(task, request, service, options, rid, include_redactions)
    assert door.response is not None and isinstance(task, _Request)
    return cast(TaskAnswer, await answer(service, door.domain, task, door.response, options, rid))


@router.post(
    "/chat/completions",
    summary="OpenAI chat completions: model 'hrstack-<task>' runs that task's full path",
    response_model=ChatCompletion,
    responses={
        **ERRORS,
        400: {"model": ERRORS[422]["model"], "description": "The request cannot be mapped."},
        200: {"content": {"text/event-stream": {}}, "description": "With stream=true: SSE."},
    },
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, rid: RequestIdDep
) -> Any:
    doors = _models(service)
    door = doors.get(body.model)
    if door is None:
        raise BadChatRequest(
            f"model: unknown model {body.model!r}; one of {', '.join(doors)} (GET /v1/models)",
            param="model",
        )
    task = task_body(body.model, door, body)
    extra = body.hrstack
    if body.stream and extra.strict:
        raise BadChatRequest(
            "hrstack.strict: a streamed answer is sent before it is judged; strict needs "
            "stream=false",
            param="hrstack.strict",
        )
    options = TaskOptions(extra.strict, extra.max_attempts, body.seed)
    chunks = _Chunks(rid, body.model, service.prompt_versions[door.domain])
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    if body.stream and door.response is not None and isinstance(task, _Request):
        pieces = service.stream(door.domain, task.prompt_fields(), seed=body.seed)
        first = await anext(pieces)  # errors before the first token are plain JSON errors
        response_cls, domain = door.response, door.domain

        def finish(outcome: Outcome) -> TaskAnswer:
            built = task_response(service, domain, outcome, response_cls, options, rid)
            return cast(TaskAnswer, built)

        events = chunks.stream(first, pieces, finish, include_usage)
    elif body.stream:
        decided = await _answer(door, task, request, service, options, rid,
                                extra.include_redactions)  # fmt: skip
        events = chunks.whole(decided, include_usage)
    else:
        decided = await _answer(door, task, request, service, options, rid,
                                extra.include_redactions)  # fmt: skip
        return chunks.completion(decided)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"


class _Chunks:
    """OpenAI's response shapes for one request: the completion, or its SSE chunks."""

    def __init__(self, rid: str, model: str, fingerprint: str) -> None:
        self.id = f"chatcmpl-{rid}"
        self.model = model
        self.fingerprint = fingerprint
        self.created = int(time.time())

    def completion(self, decided: TaskAnswer) -> ChatCompletion:
        return ChatCompletion(
            id=self.id, created=self.created, model=self.model,
            system_fingerprint=self.fingerprint,
            choices=[Choice(message=AssistantMessage(content=_content(decided)))],
            usage=decided.usage, hrstack=decided,
        )  # fmt: skip

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return _sse({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": self.fingerprint, "choices": choices,
            **extra,
        })  # fmt: skip

    def _event(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return self._chunk([choice], **extra)

    def _end(self, decided: TaskAnswer, include_usage: bool) -> list[bytes]:
        events = [self._event({}, "stop", hrstack=decided.model_dump(mode="json"))]
        if include_usage:  # OpenAI's usage chunk: no choices, the whole request's tokens
            events.append(self._chunk([], usage=decided.usage.model_dump()))
        return [*events, b"data: [DONE]\n\n"]

    def _error(self, exc: GatewayError) -> bytes:
        """A failure after the stream began: OpenAI's clients raise on an event with 'error'."""
        return _sse(error_body(exc.message, exc.type, exc.code, exc.param))

    async def whole(self, decided: TaskAnswer, include_usage: bool) -> AsyncIterator[bytes]:
        yield self._event({"role": "assistant", "content": _content(decided)})
        for event in self._end(decided, include_usage):
            yield event

    async def stream(
        self,
        first: str | Outcome,
        pieces: AsyncGenerator[str | Outcome, None],
        finish: Callable[[Outcome], TaskAnswer],
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        yield self._event({"role": "assistant", "content": ""})
        item = first
        try:
            while not isinstance(item, Outcome):
                yield self._event({"content": item})
                item = await anext(pieces)
            decided = finish(item)
        except GatewayError as exc:
            yield self._error(exc)
            return
        finally:
            await pieces.aclose()
        for event in self._end(decided, include_usage):
            yield event

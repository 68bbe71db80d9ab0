"""What every task route shares: request options, state accessors, outcome -> response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request

from server.errors import AnswerInvalid
from server.protocol import (
    AttemptReport,
    CheckReport,
    InputFlag,
    TaskResponse,
    Usage,
    ValidationReport,
    _Request,
    parsed_fields,
)
from server.service import Outcome, TaskService
from tasks import untrusted
from validators import ValidationResult

R = TypeVar("R", bound=TaskResponse)


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Per-request knobs, from the query string or headers."""

    strict: bool
    max_attempts: int | None
    seed: int | None


# Dependencies are coroutines on purpose: FastAPI runs plain-def dependencies in its thread
# pool, and three thread hops per request were most of the gateway's added latency.
async def task_options(
    strict: Annotated[
        bool,
        Query(description="Turn a final validation failure into a 422 carrying the report."),
    ] = False,
    x_hrstack_strict: Annotated[
        bool | None,
        Header(description="Same as ?strict=true, for clients that prefer headers."),
    ] = None,
    max_attempts: Annotated[
        int | None,
        Query(ge=1, le=10, description="Lower the domain's attempt budget for this request."),
    ] = None,
    seed: Annotated[
        int | None,
        Query(ge=0, le=2**31 - 1, description="Sampling seed of the first attempt (reproducible)."),
    ] = None,
) -> TaskOptions:
    return TaskOptions(strict or bool(x_hrstack_strict), max_attempts, seed)


async def get_service(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


async def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


ServiceDep = Annotated[TaskService, Depends(get_service)]
OptionsDep = Annotated[TaskOptions, Depends(task_options)]
RequestIdDep = Annotated[str, Depends(request_id)]


def to_report(result: ValidationResult) -> ValidationReport:
    return ValidationReport(
        ok=result.ok,
        checks=[CheckReport(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
        failed=result.failed,
    )


def flags_of(outcome: Outcome) -> list[InputFlag]:
    return [flag_report(flag) for flag in outcome.flags]


def flag_report(flag: untrusted.InputFlag) -> InputFlag:
    return InputFlag(field=flag.field, kind=flag.kind, pattern=flag.pattern, excerpt=flag.excerpt)


def history_of(outcome: Outcome) -> list[AttemptReport]:
    return [
        AttemptReport(
            attempt=a.attempt,
            mode=a.mode,
            constrained=a.constrained,
            failed=list(a.failed),
            details=dict(a.details),
            completion_tokens=a.completion_tokens,
        )
        for a in outcome.history
    ]


def usage_of(outcome: Outcome) -> Usage:
    total = outcome.prompt_tokens + outcome.completion_tokens
    return Usage(
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        total_tokens=total,
    )


def reject_if_strict(options: TaskOptions, domain: str, reports: list[dict[str, Any]]) -> None:
    invalid = [r for r in reports if not r["validation"]["ok"]]
    if options.strict and invalid:
        failed = sorted({name for r in invalid for name in r["validation"]["failed"]})
        raise AnswerInvalid(
            f"{domain}: the final answer failed validation ({', '.join(failed)}) within the "
            "attempt budget; the report is attached",
            extra={"reports": reports},
        )


async def answer(
    service: TaskService,
    domain: str,
    body: _Request,
    response_cls: type[R],
    options: TaskOptions,
    rid: str,
) -> R:
    outcome = await service.run(
        domain, body.prompt_fields(), max_attempts=options.max_attempts, seed=options.seed
    )
    report = to_report(outcome.result)
    reject_if_strict(options, domain, [{"text": outcome.text, "validation": report.model_dump()}])
    return response_cls(
        id=rid,
        domain=domain,
        model=service.model,
        text=outcome.text,
        valid=outcome.result.ok,
        validation=report,
        attempts=outcome.attempts,
        attempt_history=history_of(outcome),
        usage=usage_of(outcome),
        flags=flags_of(outcome),
        **parsed_fields(response_cls, dict(outcome.result.parsed)),
    )

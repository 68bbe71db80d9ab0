"""What every task route shares: request options, state accessors, outcome -> response."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request

from server.errors import AnswerInvalid
from server.protocol import (
    CheckReport,
    TaskResponse,
    Usage,
    ValidationReport,
    _Request,
    parsed_fields,
)
from server.service import Outcome, TaskService
from validators import ValidationResult

R = TypeVar("R", bound=TaskResponse)


class TaskOptions:
    """Per-request knobs, from the query string or headers."""

    def __init__(
        self,
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
            Query(
                ge=0, le=2**31 - 1, description="Sampling seed of the first attempt (reproducible)."
            ),
        ] = None,
    ) -> None:
        self.strict = strict or bool(x_hrstack_strict)
        self.max_attempts = max_attempts
        self.seed = seed


def get_service(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


ServiceDep = Annotated[TaskService, Depends(get_service)]
OptionsDep = Annotated[TaskOptions, Depends()]
RequestIdDep = Annotated[str, Depends(request_id)]


def to_report(result: ValidationResult) -> ValidationReport:
    return ValidationReport(
        ok=result.ok,
        checks=[CheckReport(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
        failed=result.failed,
    )


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
        usage=usage_of(outcome),
        **parsed_fields(response_cls, dict(outcome.result.parsed)),
    )

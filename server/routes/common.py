"""What every task route shares: request options, state accessors, outcome -> response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request

from hrstack.server.audit.log import AuditWriteError
from hrstack.server.audit.sinks import AuditSink
from hrstack.server.auth import ANONYMOUS
from hrstack.server.errors import AnswerInvalid, AuditUnavailable
from hrstack.server.protocol import (
    AttemptReport,
    CheckReport,
    EvidenceSummary,
    InputFlag,
    IntegrityFlag,
    OverrideReport,
    RedactionItem,
    TaskResponse,
    Usage,
    ValidationReport,
    _Request,
    parsed_fields,
)
from hrstack.server.service import Outcome, TaskService
from hrstack.tasks import untrusted
from hrstack.tasks.redaction import Redacted
from hrstack.validators import ValidationResult
from hrstack.validators.evidence import Evidence
from hrstack.validators.guards import Override

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
    return task_response(service, domain, outcome, response_cls, options, rid)


def task_response(
    service: TaskService,
    domain: str,
    outcome: Outcome,
    response_cls: type[R],
    options: TaskOptions,
    rid: str,
) -> R:
    """A text domain's response from its outcome (the task route's, and a streamed answer's)."""
    return response_cls(
        **checked_fields(service, domain, outcome, options, rid),
        **parsed_fields(response_cls, dict(outcome.result.parsed)),
    )


def checked_fields(
    service: TaskService, domain: str, outcome: Outcome, options: TaskOptions, rid: str
) -> dict[str, Any]:
    """The fields every TaskResponse carries, after strict mode has had its say (422)."""
    report = to_report(outcome.result)
    reject_if_strict(options, domain, [{"text": outcome.text, "validation": report.model_dump()}])
    return {
        "id": rid,
        "domain": domain,
        "model": service.model,
        "text": outcome.text,
        "valid": outcome.result.ok,
        "validation": report,
        "attempts": outcome.attempts,
        "attempt_history": history_of(outcome),
        "usage": usage_of(outcome),
        "flags": flags_of(outcome),
    }


# --- what the two decisions (rank, match) report and record -----------------------------------


def evidence_summary(evidence: Evidence) -> EvidenceSummary:
    return EvidenceSummary(
        must_have_met=list(evidence.must_have_met),
        must_have_missing=list(evidence.must_have_missing),
        nice_to_have_met=list(evidence.nice_to_have_met),
        nice_to_have_missing=list(evidence.nice_to_have_missing),
        unchecked=list(evidence.unchecked),
        years_relevant=evidence.years_relevant,
        years_required=evidence.years_required,
        flags=[IntegrityFlag(kind=f.kind, detail=f.detail) for f in evidence.flags],
    )


def override_reports(overrides: list[Override]) -> list[OverrideReport]:
    return [
        OverrideReport(rule=o.rule, before=o.before, after=o.after, reason=o.reason)
        for o in overrides
    ]


def redaction_items(redacted: Redacted | None, include: bool) -> list[RedactionItem] | None:
    """What was redacted, only when the client asked (it is never logged)."""
    if not include:
        return None
    items = redacted.items if redacted is not None else ()
    return [
        RedactionItem(category=i.category, placeholder=i.placeholder, original=i.original)
        for i in items
    ]


async def append_audit(
    request: Request, service: TaskService, records: list[dict[str, Any]]
) -> None:
    """Append and fsync the decisions before they are answered; if that fails the request is
    refused (503) instead: no answered decision goes unrecorded. Each record names the caller
    (an id derived from the API key, never the key; edge.py)."""
    audit: AuditSink | None = request.app.state.audit
    if audit is None:
        return
    caller = getattr(request.state, "caller", ANONYMOUS)
    try:
        await audit.append_async([{**record, "caller": caller} for record in records])
    except AuditWriteError as exc:
        service.metrics.audit_failures.inc()
        raise AuditUnavailable(
            f"the decision could not be recorded ({exc.strerror}); it is not answered unrecorded. "
            "Retry after the Retry-After delay",
            headers={"Retry-After": str(request.app.state.settings.retry_after_s)},
        ) from exc
    service.metrics.audit_records.inc(len(records))

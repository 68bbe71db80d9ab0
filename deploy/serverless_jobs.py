"""A RunPod job's input as one gateway request, and the gateway's answer as the job's output.

Pure functions, no I/O: ``deploy/serverless.py`` sends what ``parse_job`` returns to the gateway
and turns what comes back into output items with ``answer_output`` and ``stream_outputs``. The
job format is documented there.

A bad job is answered before anything is sent, with the field and the reason, in the same shape
as a gateway error (``{"error": message, "status": N, "detail": <OpenAI-style error body>}``),
so a client reads one format whether the worker or the gateway refused the request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from hrstack.server.errors import error_body

#: The OpenAI-compatible route: the only one that streams (``"stream": true`` in its body).
CHAT_ROUTE = "/v1/chat/completions"
#: What a job may say besides its route and body: the task routes' query options.
PARAMS = ("strict", "max_attempts", "seed", "include_redactions")
JOB_KEYS = ("route", "body", "params")
EXAMPLE = '{"route": "/v1/rank", "body": {"job_description": "...", "candidate": "..."}}'
#: Longest gateway error text quoted in a job's ``error`` when the body is not the gateway's own.
QUOTE_CHARS = 500


@dataclass(frozen=True)
class JobRoutes:
    """Which gateway paths a job may call, and every path the gateway serves (so a job naming
    /metrics is told it is not allowed, and one naming /v1/nope that it does not exist)."""

    allowed: tuple[str, ...]
    served: frozenset[str] = field(default_factory=frozenset)

    def listed(self) -> str:
        return ", ".join(self.allowed)


@dataclass(frozen=True)
class GatewayCall:
    """One POST to the gateway: route, JSON body, query options, and whether it streams."""

    route: str
    body: dict[str, Any]
    params: dict[str, str]
    stream: bool


class BadJob(ValueError):
    """A job input that names no usable request; ``field`` says where, the message why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field

    def output(self) -> dict[str, Any]:
        message = str(self)
        return {
            "error": message,
            "status": 400,
            "detail": error_body(message, "invalid_request_error", "bad_job", self.field),
        }


def parse_job(job_input: Any, routes: JobRoutes) -> GatewayCall:
    """The gateway request a job's ``input`` asks for; raises BadJob naming the field."""
    if not isinstance(job_input, dict):
        raise BadJob("input", f"must be a JSON object such as {EXAMPLE}, got {_kind(job_input)}")
    for key in job_input:
        if key not in JOB_KEYS:
            raise BadJob(f"input.{key}", f"unknown key; a job has {', '.join(JOB_KEYS)}")
    route = _route(job_input, routes)
    body = job_input.get("body")
    if body is None:
        raise BadJob("input.body", f"missing; the JSON request body of {route}, as an object")
    if not isinstance(body, dict):
        raise BadJob("input.body", f"must be a JSON object (the request body of {route}), "
                                   f"got {_kind(body)}")  # fmt: skip
    params = _params(job_input.get("params"), route)
    return GatewayCall(
        route, body, params, stream=route == CHAT_ROUTE and body.get("stream") is True
    )


def _route(job_input: dict[str, Any], routes: JobRoutes) -> str:
    if "route" not in job_input:
        raise BadJob("input.route", f"missing; the gateway route to call, one of {routes.listed()}")
    route = job_input["route"]
    if not isinstance(route, str):
        raise BadJob("input.route", f"must be a string such as '/v1/rank', got {_kind(route)}")
    if route in routes.allowed:
        return route
    if route in routes.served:
        raise BadJob(
            "input.route",
            f"{route!r} is not a task route: jobs run the task routes only (the gateway's "
            f"operations and admin routes are not served to jobs); one of {routes.listed()}",
        )
    raise BadJob("input.route", f"unknown route {route!r}; one of {routes.listed()}")


def _params(params: Any, route: str) -> dict[str, str]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise BadJob("input.params", f"must be a JSON object of query options ({', '.join(PARAMS)})"
                                     f", got {_kind(params)}")  # fmt: skip
    if params and route == CHAT_ROUTE:
        raise BadJob("input.params", f"{CHAT_ROUTE} takes its options in the body (seed, "
                                     "hrstack.strict, ...); leave params out")  # fmt: skip
    out = {}
    for name, value in params.items():
        if name not in PARAMS:
            raise BadJob(f"input.params.{name}", f"unknown option; one of {', '.join(PARAMS)}")
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = str(value)  # the gateway validates the value itself (422 naming it)
        else:
            raise BadJob(f"input.params.{name}", f"must be a number, string or boolean, "
                                                 f"got {_kind(value)}")  # fmt: skip
    return out


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def answer_output(route: str, status: int, text: str) -> dict[str, Any]:
    """The job output for the gateway's whole answer: its JSON body when 2xx, else an error
    output carrying the status and the gateway's body as ``detail``."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = None
    if 200 <= status < 300 and isinstance(body, dict):
        return body
    if 200 <= status < 300:
        return gateway_error(route, 502, text, "answered without a JSON object")
    return gateway_error(route, status, body if body is not None else text)


def gateway_error(route: str, status: int, detail: Any, what: str | None = None) -> dict[str, Any]:
    """``{"error", "status", "detail"}``; the message names the route, the status and the
    gateway's own message, so it stands alone where RunPod keeps only ``error`` (a generator
    handler's failed job, runpod 1.10 ``rp_job.handle_job``)."""
    if what is None:
        message = _message(detail)
        what = f"answered HTTP {status}: {message}"
    return {"error": f"{route} {what}", "status": status, "detail": detail}


def _message(detail: Any) -> str:
    if isinstance(detail, dict) and isinstance(detail.get("error"), dict):
        return str(detail["error"].get("message", detail["error"]))
    return str(detail)[:QUOTE_CHARS]


async def stream_outputs(
    route: str, status: int, lines: AsyncIterator[str]
) -> AsyncIterator[dict[str, Any]]:
    """One output item per server-sent event of a streamed answer (OpenAI's chunk objects, the
    last one with the ``hrstack`` report); an error event, sent when the answer failed after
    the stream began, ends the job with an error output."""
    async for line in lines:
        if not line.startswith("data: "):
            continue
        data = line.removeprefix("data: ").strip()
        if data == "[DONE]":
            return
        event = json.loads(data)
        if isinstance(event, dict) and "error" in event:
            yield gateway_error(route, status, event, f"failed mid-stream: {_message(event)}")
            return
        yield event


def collect(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    """What RunPod aggregates from a streamed job (``return_aggregate_stream``): the list of
    items; an error item instead ends it, as the job's error."""
    out = []
    for item in items:
        if "error" in item:
            return item
        out.append(item)
    return out

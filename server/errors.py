"""Typed errors with one OpenAI-shaped body: ``{"error": {message, type, param, code}}``.

Handlers rewrite FastAPI's and Starlette's own errors into the same shape, so a client parses
one format for bad input, upstream trouble and answers that failed validation alike.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class GatewayError(Exception):
    status_code = 500
    type = "internal_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}


class UpstreamUnavailable(GatewayError):
    """No engine accepted the connection or it answered not-ready: retry later."""

    status_code = 503
    type = "upstream_unavailable"
    code = "upstream_unavailable"


class UpstreamTimeout(GatewayError):
    status_code = 504
    type = "upstream_timeout"
    code = "upstream_timeout"


class UpstreamBadResponse(GatewayError):
    """The engine answered, but with an error or a body we cannot use."""

    status_code = 502
    type = "upstream_error"
    code = "upstream_bad_response"


class AuditUnavailable(GatewayError):
    """A rank decision could not be written to the audit log, so it is not answered."""

    status_code = 503
    type = "audit_unavailable"
    code = "audit_unavailable"


class InputTooLong(GatewayError):
    """The prompt plus the domain's answer budget does not fit the served model's context; the
    body names each field with its token count and the limit."""

    status_code = 422
    type = "invalid_request_error"
    code = "context_length_exceeded"


class BadChatRequest(GatewayError):
    """A /v1/chat/completions request that cannot be mapped to its domain's fields: 400, as
    OpenAI answers bad input, with the field named in ``param``."""

    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"


#: Routes that speak OpenAI's protocol answer bad input with 400 (the task routes use 422).
OPENAI_PATHS = frozenset({"/v1/chat/completions"})


class AnswerInvalid(GatewayError):
    """Strict mode: the final attempt still failed validation; the body carries the report."""

    status_code = 422
    type = "answer_invalid"
    code = "answer_failed_validation"


def error_body(
    message: str, type_: str, code: str, param: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code, **extra}}


def _loc_to_param(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    body = error_body(exc.message, exc.type, exc.code, exc.param, **exc.extra)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"param": _loc_to_param(err.get("loc", ())), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"param": None, "message": "invalid request"}
    message = "; ".join(f"{p['param']}: {p['message']}" for p in problems) or "invalid request"
    body = error_body(message, "invalid_request_error", "invalid_request", first["param"])
    body["error"]["details"] = problems
    return JSONResponse(body, status_code=400 if request.url.path in OPENAI_PATHS else 422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's 400 for a body it cannot decode (bytes that are not UTF-8): the same 422 as
        # any other unreadable body, so clients see one status for "your body is bad".
        message = "body: not valid JSON text (is it UTF-8?); send a JSON object"
        body = error_body(message, "invalid_request_error", "invalid_request", "body")
        return JSONResponse(body, status_code=422)
    body = error_body(str(exc.detail), "invalid_request_error", f"http_{exc.status_code}")
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    body = error_body("internal error; see the gateway log", "internal_error", "internal_error")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

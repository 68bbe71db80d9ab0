"""What happens to every request before a route sees it, as one pure ASGI middleware.

In order: a request id; the API key (401); the body, read whole up to ``MAX_BODY_BYTES`` (413);
admission for task routes (429/503 + Retry-After); then the route runs under the request
deadline (504) while the connection is watched, so a client that hangs up cancels its request
and with it the call to vLLM (vLLM aborts a generation whose connection closes).

Pure ASGI rather than ``BaseHTTPMiddleware``: this layer must own ``receive`` to see the
disconnect while the route awaits the engine, and must be able to cancel the route's task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import Any

from opentelemetry import trace
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrstack.server import logs, tracing
from hrstack.server.admission import Admission, Rejection
from hrstack.server.auth import ApiKeys, caller_id, presented_key
from hrstack.server.errors import error_body
from hrstack.server.metrics import Metrics, status_class

log = logging.getLogger("hrstack.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: nginx's code for "client closed request": recorded in metrics, never sent.
CLIENT_CLOSED = 499


def _log_request(level: int, scope: Scope, status: int, started: float) -> None:
    """The request's one access line (uvicorn's own access log is off)."""
    if not log.isEnabledFor(level):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    method, path = scope["method"], scope["path"]
    log.log(level, "%s %s %d %.1f ms", method, path, status, duration_ms,
            extra={"method": method, "path": path, "status": status,
                   "duration_ms": duration_ms})  # fmt: skip


class _Exchange:
    """Wraps ``send``: adds X-Request-ID and remembers the status the client was sent."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._header = (b"x-request-id", request_id.encode("ascii"))
        self.status = CLIENT_CLOSED
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
            message = {**message, "headers": [*message.get("headers", []), self._header]}
        await self._send(message)


class _Replay:
    """The body already read, then (like a server) a disconnect once the client is gone."""

    def __init__(self, body: bytes, disconnected: asyncio.Event) -> None:
        self._body: bytes | None = body
        self._disconnected = disconnected

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._disconnected.wait()
        return {"type": "http.disconnect"}


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return uuid.uuid4().hex


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


class _ClientGone(Exception):
    """The client hung up before its body arrived: there is no one left to answer."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _watch_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    disconnected.set()


async def _send_error(
    scope: Scope, send: Send, status: int, code: str, message: str, **headers: str
) -> None:
    """The gateway's one error shape; ``type`` as the route errors name it (see errors.py)."""
    type_ = {401: "authentication_error", 413: "invalid_request_error"}.get(status, code)
    body = error_body(message, type_, code)
    response = JSONResponse(body, status_code=status, headers=headers)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: ApiKeys,
        admission: Admission,
        metrics: Metrics,
        task_paths: dict[str, str],
        max_body_bytes: int,
        deadline_s: float,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.app = app
        #: The request's server span (task routes only: probes and scrapes say nothing).
        self.tracer = tracer or trace.NoOpTracer()
        self.keys = keys
        self.admission = admission
        self.metrics = metrics
        self.task_paths = task_paths
        self.max_body_bytes = max_body_bytes
        self.deadline_s = deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange(send, request_id)
        domain = self.task_paths.get(scope["path"])
        # This coroutine runs in the server's task for this request: what is set here is the
        # request's log context, copied into the route's task below (server/logs.py).
        logs.request_id.set(request_id)
        logs.domain.set(domain)
        started = time.perf_counter()
        if domain is None:
            try:
                await self._guarded(scope, receive, exchange, admit=False)
            finally:
                _log_request(logging.DEBUG, scope, exchange.status, started)
            return
        self.metrics.in_flight.inc()
        method, path = scope["method"], scope["path"]
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=tracing.caller_context(scope.get("headers", ())),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": path,
                        "hrstack.request_id": request_id},
        ) as span:  # fmt: skip
            try:
                await self._guarded(scope, receive, exchange, admit=method == "POST")
            except Exception:
                exchange.status = 500  # the outermost handler answers it (errors.py)
                raise
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.in_flight.dec()
                self.metrics.latency.labels(domain, status_class(exchange.status)).observe(elapsed)
                self.metrics.requests.labels(domain, str(exchange.status)).inc()
                _log_request(logging.INFO, scope, exchange.status, started)
                span.set_attribute("http.response.status_code", exchange.status)
                if exchange.status >= 500:
                    span.set_status(trace.StatusCode.ERROR)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: _Exchange, *, admit: bool
    ) -> None:
        headers = _headers(scope)
        key = presented_key(headers)
        if self.keys.required(scope["path"]) and not self.keys.allows(key):
            self.metrics.auth_failures.inc()
            message = "missing or unknown API key; send 'Authorization: Bearer <key>'"
            await _send_error(scope, send, 401, "invalid_api_key", message,
                              **{"WWW-Authenticate": "Bearer"})  # fmt: skip
            return
        scope["state"]["caller"] = caller = caller_id(key if self.keys.enabled else None)
        logs.caller.set(caller)
        try:
            body = await self._body(scope, receive, send, headers)
        except _ClientGone:
            self.metrics.cancelled.labels("client_disconnect").inc()
            return
        if body is None:
            return
        if not admit:
            await self._run(scope, receive, send, body)
            return
        ticket = self.admission.try_enter()
        if isinstance(ticket, Rejection):
            await self._reject(scope, send, ticket)
            return
        scope["state"]["admission"] = ticket
        try:
            await self._run(scope, receive, send, body)
        finally:
            ticket.release()

    async def _body(
        self, scope: Scope, receive: Receive, send: _Exchange, headers: dict[str, str]
    ) -> bytes | None:
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > self.max_body_bytes
        body = None if too_large else await _read_body(receive, self.max_body_bytes)
        if body is None:
            self.metrics.rejected.labels("body_too_large").inc()
            message = f"request body is over {self.max_body_bytes} bytes; send less per request"
            await _send_error(scope, send, 413, "body_too_large", message)
        return body

    async def _reject(self, scope: Scope, send: _Exchange, rejection: Rejection) -> None:
        self.metrics.rejected.labels(rejection.code).inc()
        await _send_error(
            scope, send, rejection.status_code, rejection.code, rejection.message,
            **{"Retry-After": str(rejection.retry_after_s)},
        )  # fmt: skip

    async def _run(self, scope: Scope, receive: Receive, send: _Exchange, body: bytes) -> None:
        """Run the route until it answers, the client leaves, or the deadline passes."""
        disconnected = asyncio.Event()
        route = asyncio.ensure_future(self.app(scope, _Replay(body, disconnected), send))
        watcher = asyncio.ensure_future(_watch_disconnect(receive, disconnected))
        try:
            done, _ = await asyncio.wait(
                {route, watcher}, timeout=self.deadline_s, return_when=asyncio.FIRST_COMPLETED
            )
            if route in done:
                route.result()
                return
            await _cancel(route)
            if watcher in done:
                self.metrics.cancelled.labels("client_disconnect").inc()
                return
            self.metrics.cancelled.labels("deadline").inc()
            if not send.started:
                message = f"no answer within the {self.deadline_s:g}s request deadline"
                await _send_error(scope, send, 504, "deadline_exceeded", message)
        finally:
            await _cancel(route)
            await _cancel(watcher)


async def _cancel(task: asyncio.Future[Any]) -> None:
    if task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

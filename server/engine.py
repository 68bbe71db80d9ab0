"""The seam between the gateway and vLLM.

``EngineClient`` is what the service needs from an engine; unit tests fake it. The real one,
``OpenAIHTTPEngine``, speaks vLLM's OpenAI-compatible HTTP API to one or more upstreams and turns
transport trouble into typed errors (503 unreachable, 504 timeout, 502 bad answer).

Failover: a call that never reached its upstream, or whose upstream died mid-answer (connection
refused or reset, a 5xx, a 429), is retried once on each other upstream before the client sees
a 503. A read timeout is not retried: the attempt's time is spent, and the upstream is slow
rather than gone. Generation has no side effects, so sending the same payload again is safe.
A dropped connection with no other upstream left is sent once more to the same one: most such
drops are one socket's (a CI run saw one ReadError among a hundred answers from a live engine),
and the second call, on another connection, proves the engine gone or answers.

Health from a failed call: only a failure that proves the upstream unreachable (the connection
refused or not accepted, or vLLM's own 503) marks it down at once. A reset connection or a 500
on one call does not prove the engine is gone (vLLM answers 500 for one request's internal
error while serving every other), so /health is asked at once, in the background, and its
answer decides. With one upstream a wrong "down" refuses every request until the next probe:
a CI run saw six requests in a row refused that way after one failed call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import httpx
from opentelemetry import trace

from hrstack.server import logs, tracing
from hrstack.server.errors import (
    GatewayError,
    InputTooLong,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from hrstack.server.upstreams import Upstream, UpstreamPool


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class PromptSize:
    """A chat prompt's length in the served model's tokens, and that model's context."""

    tokens: int
    max_model_len: int


#: What vLLM's chat endpoint and /tokenize read to render a prompt: sizing sends exactly these,
#: so the count is the one the engine will see.
PROMPT_KEYS = ("model", "messages", "add_generation_prompt", "continue_final_message")


T = TypeVar("T")


class EngineClient(Protocol):
    async def chat(self, payload: dict[str, Any]) -> Completion: ...

    def chat_stream(self, payload: dict[str, Any]) -> AsyncIterator[str | Completion]:
        """The answer as the engine writes it: text pieces, then the whole as a Completion."""
        ...

    async def ready(self) -> bool: ...

    async def prompt_size(self, payload: dict[str, Any]) -> PromptSize | None:
        """The payload's prompt in tokens (vLLM's /tokenize); None where it cannot be told."""
        ...

    async def count_tokens(self, model: str, texts: list[str]) -> list[int] | None:
        """Each text's length in tokens, no special tokens; None where it cannot be told."""
        ...

    def healthy_share(self) -> float:
        """Share of the upstreams' capacity that is healthy now (admission scales with it)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineHooks:
    """Where the engine reports what it sees; the app points these at its metrics."""

    error: Callable[[str], None] = lambda kind: None
    call: Callable[[str, str], None] = lambda url, outcome: None
    failover: Callable[[str, str], None] = lambda url, kind: None
    health: Callable[[str, bool], None] = lambda url, healthy: None


#: What one failed call says of its upstream's health: ``down`` (unreachable: mark it now),
#: ``probe`` (maybe gone: ask /health now) or ``keep`` (the engine is fine: a timeout, a 4xx).
Verdict = Literal["down", "probe", "keep"]


class _Failed(Exception):
    """One upstream call failed; ``retry`` says whether another upstream may take it."""

    def __init__(
        self, kind: str, error: GatewayError, *, retry: bool, health: Verdict, again: bool = False
    ) -> None:
        super().__init__(kind)
        self.kind, self.error, self.retry, self.health = kind, error, retry, health
        self.again = again  # the same upstream may take it once more (a dropped connection)


#: vLLM's wording when a prompt exceeds the model's context (vllm/renderers/params.py).
CONTEXT_OVERFLOW = "maximum context length"


def _upstream_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.text[:300])
    except (ValueError, AttributeError):
        return response.text[:300]


#: Seconds an idle upstream connection is reused; under vLLM's default 5 s keep-alive.
UPSTREAM_IDLE_S = 2.0


class OpenAIHTTPEngine:
    """vLLM over HTTP: least-loaded healthy upstream first, failover to the others."""

    def __init__(
        self,
        urls: list[str],
        *,
        timeout_s: float,
        connect_timeout_s: float,
        retry_after_s: int,
        on_error: Callable[[str], None] | None = None,
        hooks: EngineHooks | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        probe_timeout_s: float = 2.0,
        slow_probes_to_down: int = 3,
    ) -> None:
        if not urls:
            raise ValueError("OpenAIHTTPEngine needs at least one upstream URL")
        self.hooks = hooks or EngineHooks()
        self._on_error = on_error or self.hooks.error
        # A call answered within its own deadline proves the engine serves: slow probes
        # inside that window are no strikes (server.upstreams).
        self.pool = UpstreamPool(
            urls, on_health=self.hooks.health, slow_probes_to_down=slow_probes_to_down,
            alive_window_s=timeout_s,
        )  # fmt: skip
        self._probe_timeout_s = probe_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self.urls = [u.url for u in self.pool.upstreams]
        self._retry_after = {"Retry-After": str(retry_after_s)}
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        # No connection-count cap here: admission control bounds concurrency, not the pool.
        # Idle connections expire before vLLM's own keep-alive (VLLM_HTTP_TIMEOUT_KEEP_ALIVE,
        # 5 s) closes them, so a request is never sent on a socket the engine is closing.
        limits = httpx.Limits(
            max_connections=None, max_keepalive_connections=64, keepalive_expiry=UPSTREAM_IDLE_S
        )
        self._client = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)
        #: A client span per call to vLLM (server/tracing.py); the app sets the real one.
        self.tracer: trace.Tracer = trace.NoOpTracer()
        # Probes never reuse a socket: a kept-alive one can be closed by the engine just as the
        # probe is sent (the gateway's loop, starved on a busy 2-core host, reads a response late
        # and so thinks the socket fresher than it is), and one such dropped probe marked the only
        # upstream down and refused every request until the next probe (CI, stop 24). A probe on
        # a new connection that is dropped is an engine fault, not a race.
        self._probe_client = httpx.AsyncClient(
            timeout=httpx.Timeout(probe_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"Connection": "close"},
            transport=transport,
        )
        self._probes: set[asyncio.Task[None]] = set()  # /health asked after a failed call

    async def chat(self, payload: dict[str, Any]) -> Completion:
        _, completion = await self._failover(lambda upstream: self._call(upstream, payload))
        return completion

    async def chat_stream(self, payload: dict[str, Any]) -> AsyncIterator[str | Completion]:
        """vLLM's streamed answer: each text piece as it comes, then the whole as a Completion
        (usage from vLLM's last chunk). Failover as for ``chat`` until the engine has answered
        200; after that a broken stream is the client's error (its text was already sent on).
        Closing this generator early (the client left) closes the connection, and vLLM aborts
        the generation."""
        body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        upstream, response = await self._failover(
            lambda upstream: self._post(upstream, body, stream=True)
        )
        pieces: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        upstream.in_flight += 1
        try:
            async for line in response.aiter_lines():
                data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
                if not data or data == "[DONE]":
                    continue
                chunk = json.loads(data)
                if "error" in chunk:
                    message = str((chunk["error"] or {}).get("message", chunk["error"]))[:300]
                    raise UpstreamBadResponse(f"the model server at {upstream.url} {message}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if text:
                        pieces.append(text)
                        yield text
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"the model server at {upstream.url} stopped streaming ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"the model server at {upstream.url} dropped the stream ({type(exc).__name__})",
                headers=self._retry_after,
            ) from exc
        except (ValueError, AttributeError, TypeError) as exc:
            error = f"the model server at {upstream.url} sent an unusable stream chunk"
            raise UpstreamBadResponse(error) from exc
        finally:
            upstream.in_flight -= 1
            await response.aclose()
        yield Completion(
            text="".join(pieces),
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    async def _failover(self, attempt: Callable[[Upstream], Awaitable[T]]) -> tuple[Upstream, T]:
        """``attempt`` on the least-loaded healthy upstream, then on each other one (see the
        module's docstring for what is retried and what a failure says of health)."""
        tried: set[str] = set()
        resent = False
        upstream = self.pool.pick(tried)
        while upstream is not None:
            tried.add(upstream.url)
            try:
                result = await attempt(upstream)
            except _Failed as failed:
                self._on_error(failed.kind)
                self.hooks.call(upstream.url, failed.kind)
                if failed.health == "down":
                    self.pool.mark(upstream, False, failed.error.message)
                elif failed.health == "probe":
                    self._probe_soon(upstream)
                failed_upstream = upstream
                upstream = self.pool.pick(tried) if failed.retry else None
                if upstream is None and failed.again and not resent:
                    resent, upstream = True, failed_upstream
                if upstream is None:
                    raise failed.error from failed.__cause__
                self.hooks.failover(failed_upstream.url, failed.kind)
                continue
            self.hooks.call(upstream.url, "ok")
            self.pool.answered(upstream)
            return upstream, result
        raise UpstreamUnavailable("no upstream is configured", headers=self._retry_after)

    def _probe_soon(self, upstream: Upstream) -> None:
        """Ask /health now, without holding up the failover, and let its answer mark health."""
        task = asyncio.create_task(self._probe(upstream))
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _call(self, upstream: Upstream, payload: dict[str, Any]) -> Completion:
        return self._parse(upstream.url, await self._post(upstream, payload, stream=False))

    async def _post(
        self, upstream: Upstream, payload: dict[str, Any], *, stream: bool
    ) -> httpx.Response:
        """POST the chat body; transport trouble and (streaming) a non-200 become ``_Failed``.

        Its client span ends when the response's headers are in (a stream's body is read by the
        caller, inside the attempt's span)."""
        url = upstream.url
        logs.upstream.set(url)
        with tracing.client_span(self.tracer, url, "/v1/chat/completions") as span:
            response = await self._send(upstream, payload, stream=stream)
            span.set_attribute("http.response.status_code", response.status_code)
        if stream and response.status_code != 200:
            try:
                await response.aread()
            finally:
                await response.aclose()
            self._refuse(url, response)
        return response

    async def _send(
        self, upstream: Upstream, payload: dict[str, Any], *, stream: bool
    ) -> httpx.Response:
        url = upstream.url
        # vLLM takes X-Request-Id as its request id (logged with --enable-log-requests), so one
        # id follows a request from the client through the gateway into the engine; traceparent
        # puts its work into the gateway's trace.
        headers: dict[str, str] = {}
        if rid := logs.request_id.get():
            headers["X-Request-Id"] = rid
        tracing.inject(headers)
        upstream.in_flight += 1
        try:
            request = self._client.build_request(
                "POST", f"{url}/v1/chat/completions", json=payload, headers=headers
            )
            return await self._client.send(request, stream=stream)
        except httpx.ConnectTimeout as exc:
            what = "did not accept the connection in time"
            raise self._unavailable(url, "connect_timeout", what) from exc
        except httpx.TimeoutException as exc:
            error = UpstreamTimeout(
                f"the model server at {url} did not answer in time ({type(exc).__name__}); "
                "retry, or raise UPSTREAM_TIMEOUT_S"
            )
            raise _Failed("timeout", error, retry=False, health="keep") from exc
        except httpx.ConnectError as exc:
            what = f"refused the connection ({type(exc).__name__})"
            raise self._unavailable(url, "unreachable", what) from exc
        except httpx.TransportError as exc:
            # A reset or a closed connection: the engine may have died, or only this socket.
            what = f"dropped the connection ({type(exc).__name__})"
            raise self._unavailable(url, "unreachable", what, health="probe", again=True) from exc
        finally:
            upstream.in_flight -= 1

    def _unavailable(
        self, url: str, kind: str, what: str, *, health: Verdict = "down", again: bool = False
    ) -> _Failed:
        error = UpstreamUnavailable(
            f"the model server at {url} {what}; retry shortly", headers=self._retry_after
        )
        return _Failed(kind, error, retry=True, health=health, again=again)

    def _parse(self, url: str, response: httpx.Response) -> Completion:
        self._refuse(url, response)
        try:
            body = response.json()
            choice = body["choices"][0]
            usage = body.get("usage") or {}
            return Completion(
                text=choice["message"]["content"] or "",
                finish_reason=choice.get("finish_reason"),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            error = UpstreamBadResponse(f"the model server at {url} sent an unusable body")
            raise _Failed("bad_body", error, retry=False, health="keep") from exc

    def _refuse(self, url: str, response: httpx.Response) -> None:
        """Raise ``_Failed`` for any answer but 200, saying what it means for failover."""
        status = response.status_code
        if status >= 500 or status == 429:
            # 429 is the engine shedding load, not dying: try another, health unchanged. 503 is
            # vLLM's own "engine dead" (and a proxy's "no backend"); any other 5xx may be one
            # request's fault, so /health decides.
            health: Verdict = "keep" if status == 429 else "down" if status == 503 else "probe"
            kind, what = f"http_{status}", f"answered {status}"
            raise self._unavailable(url, kind, what, health=health)
        if status == 400 and CONTEXT_OVERFLOW in response.text:
            # The engine's own length check (a tokenizer that disagrees with /tokenize, or no
            # pre-check): the client's input is too long, which is a 4xx, not an engine fault.
            too_long = InputTooLong(
                "the prompt does not fit the served model's context: "
                + _upstream_message(response),
                param="body",
            )
            raise _Failed("context_overflow", too_long, retry=False, health="keep")
        if status != 200:
            error = UpstreamBadResponse(
                f"the model server at {url} rejected the request ({status}): {response.text[:300]}"
            )
            raise _Failed(f"http_{status}", error, retry=False, health="keep")

    async def prompt_size(self, payload: dict[str, Any]) -> PromptSize | None:
        body = {key: payload[key] for key in PROMPT_KEYS if key in payload}
        data = await self._tokenize(body)
        if data is None:
            return None
        return PromptSize(int(data["count"]), int(data["max_model_len"]))

    async def count_tokens(self, model: str, texts: list[str]) -> list[int] | None:
        bodies = [{"model": model, "prompt": text, "add_special_tokens": False} for text in texts]
        answers = await asyncio.gather(*(self._tokenize(body) for body in bodies))
        if any(answer is None for answer in answers):
            return None
        return [int(answer["count"]) for answer in answers if answer is not None]

    async def _tokenize(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """vLLM's /tokenize on a healthy upstream. Sizing is a pre-check: when it cannot be had
        (no upstream, an engine without the route) the chat call itself says what is wrong, and
        a context overflow it reports is still a 422 (see ``_parse``)."""
        upstream = self.pool.pick(set())
        if upstream is None:
            return None
        with tracing.client_span(self.tracer, upstream.url, "/tokenize") as span:
            headers: dict[str, str] = {}
            tracing.inject(headers)
            try:
                response = await self._client.post(
                    f"{upstream.url}/tokenize", json=body, headers=headers
                )
                span.set_attribute("http.response.status_code", response.status_code)
                data = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None
        if not isinstance(data, dict) or "count" not in data or "max_model_len" not in data:
            return None
        return data

    async def ready(self) -> bool:
        """Probe every upstream's /health at once, record the results; True if any is up."""
        await asyncio.gather(*(self._probe(u) for u in self.pool.upstreams))
        return self.pool.any_healthy()

    async def _probe(self, upstream: Upstream) -> None:
        try:
            response = await self._probe_client.get(f"{upstream.url}/health")
            ok, why = response.status_code == 200, f"/health answered {response.status_code}"
        except httpx.TimeoutException as exc:
            # Slow, to accept or to answer: a busy engine, not a dead one (see
            # server.upstreams). A refused connection is a ConnectError, and marks it down.
            connect = isinstance(exc, httpx.ConnectTimeout)
            limit = self._connect_timeout_s if connect else self._probe_timeout_s
            self.pool.slow_probe(upstream, f"/health took over {limit:g}s ({type(exc).__name__})")
            return
        except httpx.HTTPError as exc:
            ok, why = False, f"/health failed: {type(exc).__name__}"
        self.pool.mark(upstream, ok, why)

    def healthy_share(self) -> float:
        return self.pool.healthy_share()

    async def aclose(self) -> None:
        for task in list(self._probes):
            task.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        await self._client.aclose()
        await self._probe_client.aclose()

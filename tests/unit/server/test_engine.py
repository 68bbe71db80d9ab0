"""The HTTP engine client: transport trouble becomes typed errors; least-loaded routing."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest

from hrstack.server.engine import OpenAIHTTPEngine
from hrstack.server.errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable

OK_BODY = {
    "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


def _engine(handler, urls=("http://u1",)) -> tuple[OpenAIHTTPEngine, list[str]]:
    errors: list[str] = []
    engine = OpenAIHTTPEngine(
        list(urls), timeout_s=1, connect_timeout_s=1, retry_after_s=7,
        on_error=errors.append, transport=httpx.MockTransport(handler),
    )  # fmt: skip
    return engine, errors


def _raise(exc: Exception):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "error", "kind"),
    [
        (_raise(httpx.ReadTimeout("slow")), UpstreamTimeout, "timeout"),
        (_raise(httpx.ConnectError("refused")), UpstreamUnavailable, "unreachable"),
        (lambda r: httpx.Response(500, text="boom"), UpstreamUnavailable, "http_500"),
        (lambda r: httpx.Response(400, text="bad"), UpstreamBadResponse, "http_400"),
        (lambda r: httpx.Response(200, text="not json"), UpstreamBadResponse, "bad_body"),
        (lambda r: httpx.Response(200, json={"choices": []}), UpstreamBadResponse, "bad_body"),
    ],
    ids=["timeout", "refused", "500", "400", "garbage", "no-choices"],
)
def test_transport_trouble_becomes_typed_errors(handler, error, kind):
    engine, errors = _engine(handler)
    with pytest.raises(error) as info:
        asyncio.run(engine.chat({}))
    assert errors == [kind]
    if error is UpstreamUnavailable:
        assert info.value.headers == {"Retry-After": "7"}


def test_ok_body_is_parsed():
    engine, _ = _engine(lambda r: httpx.Response(200, json=OK_BODY))
    completion = asyncio.run(engine.chat({}))
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("hi", 3, 1)


def test_requests_spread_over_upstreams_by_load():
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=OK_BODY)

    engine, _ = _engine(handler, urls=("http://u1", "http://u2"))

    async def burst() -> None:
        await asyncio.gather(*(engine.chat({}) for _ in range(6)))

    asyncio.run(burst())
    assert seen.count("u1") == seen.count("u2") == 3


def test_ready_when_any_upstream_is_healthy():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.host == "u2" else 503)

    engine, _ = _engine(handler, urls=("http://u1", "http://u2"))
    assert asyncio.run(engine.ready()) is True


async def _one_answer_per_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Fault-injecting stub (a real engine closes idle sockets only on its own timer): answer the
    first request on a connection and promise keep-alive, then close it, unanswered, as soon as a
    second request arrives on it: the keep-alive race, on demand."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next((int(h.split(b":")[1]) for h in lines if h.startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    body = json.dumps(OK_BODY).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        await reader.readuntil(b"\r\n\r\n")
    writer.close()


def test_a_probe_is_never_sent_on_a_socket_the_engine_may_be_closing():
    """CI, stop 24: a /health probe reused a chat call's kept-alive socket, the engine closed it,
    and the only upstream was marked down: every request got 503 until the next probe."""

    async def scenario() -> tuple[bool, str]:
        server = await asyncio.start_server(_one_answer_per_connection, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        engine = OpenAIHTTPEngine(
            [f"http://127.0.0.1:{port}"], timeout_s=5, connect_timeout_s=1, retry_after_s=1
        )
        try:
            await engine.chat({})  # leaves its socket kept alive in the pool
            ready = await engine.ready()
            return ready, engine.pool.upstreams[0].last_error
        finally:
            await engine.aclose()
            server.close()
            await server.wait_closed()

    ready, error = asyncio.run(scenario())
    assert ready, error

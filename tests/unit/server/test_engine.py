"""The HTTP engine client: transport trouble becomes typed errors; least-loaded routing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.engine import OpenAIHTTPEngine
from server.errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable

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

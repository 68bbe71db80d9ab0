"""Several upstreams: health marks, least-loaded routing, and failover when one dies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from hrstack.server.engine import EngineHooks, OpenAIHTTPEngine
from hrstack.server.errors import UpstreamTimeout, UpstreamUnavailable
from hrstack.server.upstreams import UpstreamPool
from tests.unit.server.test_engine import OK_BODY

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failovers: list[tuple[str, str]] = []
        self.health: list[tuple[str, bool]] = []

    def hooks(self) -> EngineHooks:
        return EngineHooks(
            call=lambda url, outcome: self.calls.append((url, outcome)),
            failover=lambda url, kind: self.failovers.append((url, kind)),
            health=lambda url, healthy: self.health.append((url, healthy)),
        )


def _engine(handler: Handler, recorder: Recorder, urls=("http://u1", "http://u2")):
    return OpenAIHTTPEngine(
        list(urls), timeout_s=1, connect_timeout_s=1, retry_after_s=3,
        hooks=recorder.hooks(), transport=httpx.MockTransport(handler),
    )  # fmt: skip


def dies_on(host: str, exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == host:
            raise exc
        return httpx.Response(200, json=OK_BODY)

    return handler


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.ReadError("connection reset by peer"),
        httpx.ConnectTimeout("no accept"),
    ],
    ids=["refused", "died-mid-answer", "reset", "connect-timeout"],
)
def test_a_call_whose_upstream_dies_is_answered_by_another(failure):
    recorder = Recorder()
    engine = _engine(dies_on("u1", failure), recorder)

    async def both() -> list[str]:
        texts = [(await engine.chat({})).text for _ in range(2)]
        await asyncio.sleep(0.05)  # a reset is judged by the /health probe it sets off
        return texts

    assert asyncio.run(both()) == ["hi", "hi"]
    assert recorder.failovers and recorder.failovers[0][0] == "http://u1"
    assert ("http://u1", False) in recorder.health, "the dead upstream is marked down"
    assert engine.healthy_share() == 0.5
    assert recorder.calls[-1] == ("http://u2", "ok"), "later calls go to the healthy one"


def test_upstream_5xx_fails_over_and_429_does_not_mark_down():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429 if request.url.host == "u1" else 200, json=OK_BODY)

    recorder = Recorder()
    engine = _engine(handler, recorder)
    for _ in range(2):
        assert asyncio.run(engine.chat({})).text == "hi"
    assert engine.healthy_share() == 1.0


def test_one_500_fails_over_but_a_live_upstream_stays_up():
    """vLLM answers 500 for one request's internal error while serving the rest: /health is
    asked, says 200, and the upstream keeps its share (with one upstream, a "down" here would
    refuse every request until the next probe)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200)
        if request.url.host == "u1":
            return httpx.Response(500, json={"error": {"message": "boom"}})
        return httpx.Response(200, json=OK_BODY)

    recorder = Recorder()
    engine = _engine(handler, recorder)

    async def call() -> str:
        text = (await engine.chat({})).text
        await asyncio.sleep(0.05)
        return text

    texts = [asyncio.run(call()) for _ in range(2)]
    assert texts == ["hi", "hi"]
    assert ("http://u1", "http_500") in recorder.failovers
    assert engine.healthy_share() == 1.0 and ("http://u1", False) not in recorder.health


def test_a_503_marks_down_at_once():
    """503 is vLLM's "engine dead": no probe needed."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.host == "u1" else 200, json=OK_BODY)

    recorder = Recorder()
    engine = _engine(handler, recorder)
    for _ in range(2):
        assert asyncio.run(engine.chat({})).text == "hi"
    assert ("http://u1", False) in recorder.health and engine.healthy_share() == 0.5


def test_read_timeout_is_not_retried_elsewhere():
    recorder = Recorder()
    engine = _engine(dies_on("u1", httpx.ReadTimeout("slow")), recorder, urls=("http://u1",))
    with pytest.raises(UpstreamTimeout):
        asyncio.run(engine.chat({}))
    assert recorder.failovers == [] and engine.healthy_share() == 1.0


def test_every_upstream_failing_is_one_clean_503():
    recorder = Recorder()

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    engine = _engine(handler, recorder)
    with pytest.raises(UpstreamUnavailable) as info:
        asyncio.run(engine.chat({}))
    assert info.value.headers == {"Retry-After": "3"}
    assert len(recorder.calls) == 2, "each upstream tried once, no more"
    assert engine.healthy_share() == 0.0


def test_probe_marks_down_and_back_up():
    alive = {"u1": True, "u2": False}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if alive[request.url.host] else 503)

    recorder = Recorder()
    engine = _engine(handler, recorder)
    assert asyncio.run(engine.ready()) is True
    assert engine.healthy_share() == 0.5
    alive["u2"] = True
    asyncio.run(engine.ready())
    assert engine.healthy_share() == 1.0
    assert recorder.health[-2:] == [("http://u2", False), ("http://u2", True)]


def test_routing_prefers_healthy_then_least_loaded():
    pool = UpstreamPool(["http://a", "http://b", "http://c"])
    a, b, c = pool.upstreams
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    pool.mark(b, False, "down")
    picks = {pool.pick(set()).url for _ in range(6)}  # type: ignore[union-attr]
    assert picks == {"http://c"}
    assert pool.pick({"http://a", "http://c"}) is b, "a down upstream is the last resort"
    assert pool.pick({"http://a", "http://b", "http://c"}) is None


def test_a_slow_probe_is_a_strike_and_only_strikes_in_a_row_mark_down():
    """A busy engine that answers /health late is still serving: with one upstream, marking it
    down at the first late probe would refuse every request (503) until the next probe."""
    slow = {"u1": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if slow["u1"]:
            raise httpx.ReadTimeout("slow /health")
        return httpx.Response(200)

    recorder = Recorder()
    engine = OpenAIHTTPEngine(
        ["http://u1"], timeout_s=1, connect_timeout_s=1, retry_after_s=3, hooks=recorder.hooks(),
        transport=httpx.MockTransport(handler), slow_probes_to_down=3,
    )  # fmt: skip
    assert asyncio.run(engine.ready()) is True, "one late probe: still up"
    assert asyncio.run(engine.ready()) is True, "two: still up"
    slow["u1"] = False
    assert asyncio.run(engine.ready()) is True
    assert engine.pool.upstreams[0].slow_probes == 0, "an answered probe clears the strikes"
    slow["u1"] = True
    for _ in range(2):
        assert asyncio.run(engine.ready()) is True
    assert asyncio.run(engine.ready()) is False, "the third late probe in a row marks it down"
    assert recorder.health[-1] == ("http://u1", False)
    assert "3 probes in a row" in engine.pool.upstreams[0].last_error


def test_slow_probes_are_no_strikes_while_the_upstream_answers_calls():
    """A saturated 2-core engine answers /health late for minutes while it serves every call;
    CI saw such an engine marked down and requests refused with 503. An answered call within the
    alive window outweighs late probes; once calls stop being answered the strikes count."""
    now = [1000.0]
    pool = UpstreamPool(["http://u1"], slow_probes_to_down=2, alive_window_s=60,
                        clock=lambda: now[0])  # fmt: skip
    (u1,) = pool.upstreams
    pool.answered(u1)
    for _ in range(5):
        now[0] += 10
        pool.slow_probe(u1, "/health did not answer in time")
    assert u1.healthy and u1.slow_probes == 0, "answered 50 s ago: late probes are no strikes"
    now[0] += 11  # 61 s since the last answer: the engine may be hung
    pool.slow_probe(u1, "/health did not answer in time")
    assert u1.healthy and u1.slow_probes == 1
    pool.slow_probe(u1, "/health did not answer in time")
    assert not u1.healthy, "out of the window, strikes in a row mark it down"
    pool.answered(u1)
    assert u1.healthy and u1.slow_probes == 0, "an answer brings it back at once"


def test_an_answered_call_opens_the_alive_window_for_the_engine_client():
    """The engine client's window is its per-call deadline, and a probe that cannot even connect
    in time is a strike like a late answer (a refused one still marks down at once)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            raise httpx.ConnectTimeout("busy host")
        return httpx.Response(200, json=OK_BODY)

    engine = OpenAIHTTPEngine(
        ["http://u1"], timeout_s=30, connect_timeout_s=1, retry_after_s=3,
        transport=httpx.MockTransport(handler), slow_probes_to_down=1,
    )  # fmt: skip
    assert engine.pool.alive_window_s == 30
    asyncio.run(engine.chat({"messages": []}))
    assert asyncio.run(engine.ready()) is True, "a call was just answered: the late probe waits"
    engine.pool.upstreams[0].answered_at -= 31
    assert asyncio.run(engine.ready()) is False, "no answer for longer than a call may take"
    assert "took over 1s (ConnectTimeout)" in engine.pool.upstreams[0].last_error


def test_a_refused_probe_marks_down_at_once_whatever_the_strikes():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    engine = _engine(handler, Recorder(), urls=("http://u1",))
    assert asyncio.run(engine.ready()) is False


@pytest.mark.parametrize(
    "drop",
    [httpx.ReadError("connection reset by peer"), httpx.RemoteProtocolError("disconnected")],
    ids=["reset", "disconnected"],
)
def test_a_dropped_connection_to_the_only_upstream_is_sent_once_more(drop):
    """One socket's drop is not the engine's death: the only upstream gets the call again."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path == "/health":
            return httpx.Response(200)
        calls += 1
        if calls == 1:
            raise drop
        return httpx.Response(200, json=OK_BODY)

    recorder = Recorder()
    engine = _engine(handler, recorder, urls=("http://u1",))
    assert asyncio.run(engine.chat({})).text == "hi"
    assert recorder.calls == [("http://u1", "unreachable"), ("http://u1", "ok")]


def test_a_connection_dropped_twice_is_a_503_after_two_calls():
    recorder = Recorder()
    engine = _engine(dies_on("u1", httpx.ReadError("reset")), recorder, urls=("http://u1",))
    with pytest.raises(UpstreamUnavailable, match="dropped the connection"):
        asyncio.run(engine.chat({}))
    assert recorder.calls == [("http://u1", "unreachable")] * 2, "sent once more, no more"


def test_a_refused_connection_is_not_sent_again_to_the_same_upstream():
    recorder = Recorder()
    engine = _engine(dies_on("u1", httpx.ConnectError("refused")), recorder, urls=("http://u1",))
    with pytest.raises(UpstreamUnavailable, match="refused"):
        asyncio.run(engine.chat({}))
    assert len(recorder.calls) == 1

"""Request-scoped logs: JSON lines with the request's context, and the id forwarded to vLLM."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from hrstack.server import logs
from hrstack.server.auth import caller_id
from hrstack.server.engine import OpenAIHTTPEngine
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

KEY = "unit-test-key-0123456789"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    logs.configure("json", "info", stream=stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def _entries(stream: io.StringIO) -> list[dict]:
    logs.flush()  # the listener thread writes them
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_about_a_request_carries_its_context(make_client, captured) -> None:
    invalid, valid = A.RESUME_DEGENERATE, A.RESUME_OK
    client = make_client(FakeEngine([invalid, valid]), api_keys=[KEY])
    response = client.post(
        "/v1/resume-guidance",
        json={"resume": A.RESUME_TEXT},
        headers={"Authorization": f"Bearer {KEY}", "X-Request-ID": "req-42"},
    )
    assert response.status_code == 200 and response.json()["attempts"] == 2
    mine = [e for e in _entries(captured) if e.get("request_id") == "req-42"]
    attempts = [e for e in mine if e["logger"] == "hrstack.server.service"]
    access = [e for e in mine if e["logger"] == "hrstack.access"]
    assert [(e["attempt"], "failed" in e) for e in attempts] == [(1, True), (2, False)]
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["duration_ms"] >= 0
    for entry in mine:
        assert entry["domain"] == "resume_guidance"
        assert entry["caller"] == caller_id(KEY) and KEY not in json.dumps(entry)
    probe = client.get("/healthz")
    assert probe.status_code == 200
    assert not [e for e in _entries(captured) if e.get("path") == "/healthz"], (
        "probes are logged at debug only"
    )


def test_text_format_prefixes_the_request_id(make_client) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        logs.configure("text", "info", stream=stream)
        client = make_client(FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK]))
        client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT},
                    headers={"X-Request-ID": "req-7"})  # fmt: skip
        logs.flush()
    finally:
        root.handlers[:] = saved
    text = stream.getvalue()
    assert "[req-7#1] INFO hrstack.server.service: resume_guidance attempt 1/" in text
    assert "[req-7] INFO hrstack.access: POST /v1/resume-guidance 200" in text


def test_the_request_id_is_forwarded_to_vllm() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(200, json={
            "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        })  # fmt: skip

    engine = OpenAIHTTPEngine(["http://u1"], timeout_s=1, connect_timeout_s=1, retry_after_s=1,
                              transport=httpx.MockTransport(handler))  # fmt: skip

    async def two() -> None:
        token = logs.request_id.set("abc-1")
        try:
            await engine.chat({"messages": []})
        finally:
            logs.request_id.reset(token)
        await engine.chat({"messages": []})  # outside a request (the self-check): no header
        await engine.aclose()

    asyncio.run(two())
    assert seen == ["abc-1", None]


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@contextmanager
def _logging_to(stream: io.StringIO, fmt: logs.LogFormat) -> Iterator[logging.Logger]:
    """``logs.configure`` writing to ``stream``; the root logger as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.configure(fmt, "info", stream=stream)
        yield logging.getLogger("hrstack.test")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        logs.flush()


def _written_within(stream: io.StringIO, done: Callable[[str], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done(stream.getvalue()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return done(stream.getvalue())


def test_the_writer_drains_a_burst_in_few_writes_without_a_flush() -> None:
    """The writer polls (one wake-up and one write per burst, not one per record, which cost
    the request path ~0.1 ms on 2 cores); a request's lines still appear on their own, soon."""
    stream = _CountingStream()
    token = logs.request_id.set("req-burst")
    try:
        with _logging_to(stream, "json") as log:
            for n in range(200):
                log.info("line %d", n, extra={"n": n})
            _written_within(stream, lambda text: text.count("\n") >= 200, 5)
            entries = [json.loads(line) for line in stream.getvalue().splitlines()]
            assert [e["n"] for e in entries] == list(range(200))  # all, in order, no flush
            assert {e["request_id"] for e in entries} == {"req-burst"}
            assert stream.writes <= 5, stream.writes
            log.debug("below the level")
            log.info("last")
            logs.flush()
            assert json.loads(stream.getvalue().splitlines()[-1])["message"] == "last"
            assert "below the level" not in stream.getvalue()
    finally:
        logs.request_id.reset(token)


def test_lines_outside_a_request_and_warnings_are_written_at_once(monkeypatch) -> None:
    """Start-up and supervision lines ("vLLM died ...", the self-check) and warnings do not
    wait for the writer's round: an operator (or a test) reading the log after /readyz turned
    200 finds them. Here a round is 60 s, so only the wake-up can write them in time."""
    monkeypatch.setattr(logs, "WRITE_INTERVAL_S", 60.0)
    stream = io.StringIO()

    def shows(line: str) -> Callable[[str], bool]:
        return lambda text: line in text

    with _logging_to(stream, "text") as log:
        token = logs.request_id.set("req-1")
        log.info("inside a request")
        assert not _written_within(stream, shows("inside a request"), 0.3)  # waits its round
        log.warning("a warning inside a request")
        assert _written_within(stream, shows("a warning inside a request"), 5)
        logs.request_id.reset(token)
        log.info("engine is ready")
        assert _written_within(stream, shows("engine is ready"), 5)

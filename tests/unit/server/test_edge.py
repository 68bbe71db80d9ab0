"""The edge: admission (429/503 + Retry-After, never a queue), 413, the deadline, and a client
that hangs up cancelling its engine call. Driven at the ASGI level, where a disconnect can be
sent exactly when the engine call is in flight."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hrstack.server.admission import Admission, Rejection, Ticket
from hrstack.server.app import create_app
from hrstack.server.profiles import load_profile
from hrstack.server.settings import Settings
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine, gateway_settings

BODY = json.dumps({"job_description": A.JD_TEXT}).encode()
RANK = json.dumps({"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT}).encode()


class BlockingEngine(FakeEngine):
    """Every chat call blocks until released; records calls that were cancelled."""

    def __init__(self) -> None:
        super().__init__([])
        self.started = 0
        self.cancelled = 0
        self.release: asyncio.Event | None = None

    async def chat(self, payload: dict[str, Any]) -> Any:
        self.started += 1
        self.release = self.release or asyncio.Event()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return await FakeEngine(lambda p: A.ATS_OK).chat(payload)


async def asgi_call(
    app: Any,
    path: str,
    body: bytes,
    *,
    hang_up: asyncio.Event | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: int = 1,
) -> dict[str, Any]:
    """POST ``body``; if ``hang_up`` is given, the client disconnects once it is set."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("test", 80),
        "headers": headers if headers is not None else [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())
        ],
    }  # fmt: skip
    size = -(-len(body) // chunks)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    done = asyncio.Event()
    sent: dict[str, Any] = {"status": None, "headers": {}, "body": b""}

    async def receive() -> dict[str, Any]:
        if parts:
            chunk = parts.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts)}
        waits = [asyncio.ensure_future(done.wait())]
        if hang_up is not None:
            waits.append(asyncio.ensure_future(hang_up.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return sent


def run_app(
    engine: FakeEngine,
    test: Callable[[Any], Awaitable[None]],
    tmp_path: Path,
    **settings: Any,
) -> None:
    settings.setdefault("audit_log_path", tmp_path / "audit.jsonl")
    app = create_app(gateway_settings(**settings), engine=engine)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            await test(app)

    asyncio.run(main())


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_admission_limit_scales_with_healthy_upstreams():
    share = [1.0]
    admission = Admission(4, healthy_share=lambda: share[0], retry_after_s=2)
    assert admission.current_limit() == 4
    share[0] = 0.5
    assert admission.current_limit() == 2
    share[0] = 0.1
    assert admission.current_limit() == 1, "some capacity stays while any upstream is up"
    share[0] = 0.0
    rejection = admission.try_enter()
    assert isinstance(rejection, Rejection) and rejection.status_code == 503


def test_tickets_release_exactly_what_they_took():
    admission = Admission(4)
    first = admission.try_enter()
    assert isinstance(first, Ticket) and first.grow(3) == 3 and admission.in_flight == 3
    second = admission.try_enter()
    assert isinstance(second, Ticket) and second.grow(8) == 1, "only free slots are taken"
    third = admission.try_enter()
    assert isinstance(third, Rejection) and third.status_code == 429 and third.retry_after_s == 1
    first.release()
    second.release()
    assert admission.in_flight == 0


def test_beyond_the_limit_is_429_at_once_and_nothing_queues(tmp_path):
    engine = BlockingEngine()

    async def scenario(app: Any) -> None:
        hang_up = asyncio.Event()
        first = asyncio.ensure_future(asgi_call(app, "/v1/ats-keywords", BODY, hang_up=hang_up))
        await until(lambda: engine.started == 1)
        second = await asyncio.wait_for(asgi_call(app, "/v1/ats-keywords", BODY), 2)
        assert second["status"] == 429
        assert second["headers"]["retry-after"] == "1"
        assert json.loads(second["body"])["error"]["code"] == "overloaded"
        assert engine.started == 1, "the refused request never reached the engine"
        hang_up.set()
        await first
        third = asyncio.ensure_future(asgi_call(app, "/v1/ats-keywords", BODY))
        await until(lambda: engine.started == 2)
        assert engine.release is not None
        engine.release.set()
        assert (await third)["status"] == 200, "the slot came back after the disconnect"

    run_app(engine, scenario, tmp_path, max_in_flight=1)


def test_no_healthy_upstream_is_503_with_retry_after(tmp_path):
    engine = FakeEngine([])
    engine.share = 0.0

    async def scenario(app: Any) -> None:
        sent = await asgi_call(app, "/v1/ats-keywords", BODY)
        assert sent["status"] == 503 and sent["headers"]["retry-after"] == "5"
        assert json.loads(sent["body"])["error"]["code"] == "upstream_unavailable"

    run_app(engine, scenario, tmp_path)


def test_client_disconnect_cancels_the_engine_call(tmp_path):
    engine = BlockingEngine()

    async def scenario(app: Any) -> None:
        hang_up = asyncio.Event()
        call = asyncio.ensure_future(asgi_call(app, "/v1/rank", RANK, hang_up=hang_up))
        await until(lambda: engine.started == 1)
        hang_up.set()
        sent = await asyncio.wait_for(call, 2)
        assert sent["status"] is None, "nothing is sent to a client that left"
        assert engine.cancelled == 1
        metrics = app.state.metrics.registry.get_sample_value
        assert metrics("hrstack_cancelled_total", {"cause": "client_disconnect"}) == 1
        assert metrics("hrstack_requests_total", {"domain": "rank", "status": "499"}) == 1
        assert not (tmp_path / "audit.jsonl").read_text(), "no decision, no audit line"

    run_app(engine, scenario, tmp_path)


def test_deadline_is_504_and_cancels_the_engine_call(tmp_path):
    engine = BlockingEngine()

    async def scenario(app: Any) -> None:
        sent = await asyncio.wait_for(asgi_call(app, "/v1/ats-keywords", BODY), 3)
        assert sent["status"] == 504
        assert json.loads(sent["body"])["error"]["code"] == "deadline_exceeded"
        assert engine.cancelled == 1

    run_app(engine, scenario, tmp_path, request_deadline_s=0.2)


def test_oversized_body_is_413_declared_or_streamed(tmp_path):
    engine = FakeEngine([])
    big = json.dumps({"job_description": "x" * 3000}).encode()

    async def scenario(app: Any) -> None:
        declared = await asgi_call(app, "/v1/ats-keywords", big)
        assert declared["status"] == 413
        assert json.loads(declared["body"])["error"]["code"] == "body_too_large"
        chunked = await asgi_call(
            app, "/v1/ats-keywords", big, headers=[(b"content-type", b"application/json")],
            chunks=4,
        )  # fmt: skip
        assert chunked["status"] == 413
        assert engine.payloads == []

    run_app(engine, scenario, tmp_path, max_body_bytes=2048)


def test_request_id_is_generated_or_sanitised(make_client):
    client = make_client(FakeEngine([A.ATS_OK, A.ATS_OK]))
    generated = client.post("/v1/ats-keywords", json={"job_description": A.JD_TEXT})
    assert len(generated.headers["X-Request-ID"]) == 32
    hostile = client.post(
        "/v1/ats-keywords",
        json={"job_description": A.JD_TEXT},
        headers={"X-Request-ID": "a b<script>"},
    )
    assert hostile.headers["X-Request-ID"] != "a b<script>"


def test_the_limit_is_derived_from_the_upstreams_batch(monkeypatch):
    two = ["http://a:8100", "http://b:8100"]
    assert Settings(upstream_urls=two, max_num_seqs=8).admission_limit() == 16
    profile_seqs = load_profile("cpu")["max_num_seqs"]
    assert Settings(upstream_urls=two).admission_limit() == 2 * profile_seqs
    monkeypatch.setenv("MAX_IN_FLIGHT", "5")
    assert Settings(upstream_urls=two, max_num_seqs=8).admission_limit() == 5


def test_a_gateway_bug_is_a_counted_500_and_the_process_keeps_serving(tmp_path):
    def explode(payload: dict[str, Any]) -> str:
        raise RuntimeError("bug")

    app = create_app(
        gateway_settings(audit_log_path=tmp_path / "a.jsonl"), engine=FakeEngine(explode)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/ats-keywords", json={"job_description": A.JD_TEXT})
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        metrics = app.state.metrics.registry.get_sample_value
        assert metrics("hrstack_requests_total", {"domain": "ats_keywords", "status": "500"}) == 1
        assert client.get("/healthz").status_code == 200

"""Tracing: one trace per request with a span per attempt, per validator run and per vLLM call,
read back with the OpenTelemetry SDK's in-memory exporter. Off by default."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hrstack.server import tracing
from hrstack.server.app import create_app
from hrstack.server.engine import OpenAIHTTPEngine
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine, gateway_settings


def _vllm(replies: list[str], headers: list[dict[str, str]]) -> OpenAIHTTPEngine:
    """A transport standing in for vLLM's HTTP API (answers in order; /tokenize sized)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tokenize":
            return httpx.Response(200, json={"count": 50, "max_model_len": 8192})
        if request.url.path != "/v1/chat/completions":
            return httpx.Response(200, json={})  # /health
        headers.append(dict(request.headers))
        content = replies.pop(0)
        return httpx.Response(200, json={
            "choices": [{"message": {"content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20},
        })  # fmt: skip

    return OpenAIHTTPEngine(["http://vllm"], timeout_s=5, connect_timeout_s=5, retry_after_s=1,
                            transport=httpx.MockTransport(handler))  # fmt: skip


def test_a_retried_request_is_one_trace_with_attempt_validate_and_engine_spans(tmp_path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sent: list[dict[str, str]] = []
    engine = _vllm([A.RESUME_DEGENERATE, A.RESUME_OK], sent)
    settings = gateway_settings(upstream_urls=["http://vllm"], audit_log_path=tmp_path / "a.jsonl")
    with TestClient(create_app(settings, engine=engine, tracer_provider=provider)) as client:
        response = client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT})
        assert response.status_code == 200 and response.json()["attempts"] == 2
        client.get("/healthz")
    server = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert [s.name for s in server] == ["POST /v1/resume-guidance"], "probes are not traced"
    trace_id = server[0].context.trace_id
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    by_name: dict[str, list] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    assert len(by_name["hrstack.attempt"]) == 2
    assert len(by_name["hrstack.validate"]) == 2
    engine_calls = [
        s for s in spans if s.kind == trace.SpanKind.CLIENT
        and str(s.attributes.get("url.full")).endswith("/v1/chat/completions")
    ]  # fmt: skip
    assert len(engine_calls) == 2
    assert {s.attributes["http.response.status_code"] for s in engine_calls} == {200}
    sizing = [s for s in spans if s.name == "POST /tokenize"]
    assert sizing and all(s.kind == trace.SpanKind.CLIENT for s in sizing)
    assert server[0].attributes["http.response.status_code"] == 200
    assert server[0].attributes["http.route"] == "/v1/resume-guidance"
    attempts = {s.context.span_id: s for s in by_name["hrstack.attempt"]}
    assert all(s.parent.span_id in attempts for s in by_name["hrstack.validate"])
    assert all(s.parent.span_id in attempts for s in engine_calls)
    first, second = sorted(by_name["hrstack.attempt"], key=lambda s: s.start_time)
    assert (first.attributes["hrstack.valid"], second.attributes["hrstack.valid"]) == (False, True)
    # W3C trace context reaches vLLM, which can join the trace (--otlp-traces-endpoint).
    assert all(h["traceparent"].split("-")[1] == f"{trace_id:032x}" for h in sent)


def _traced(tmp_path, replies: list[str]):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = _vllm(replies, [])
    settings = gateway_settings(upstream_urls=["http://vllm"], audit_log_path=tmp_path / "a.jsonl")
    return exporter, TestClient(create_app(settings, engine=engine, tracer_provider=provider))


def test_a_callers_traceparent_is_continued_and_refusals_are_traced(tmp_path) -> None:
    exporter, app = _traced(tmp_path, [A.RESUME_OK])
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with app as client:
        ok = client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT},
                         headers={"traceparent": parent})  # fmt: skip
        bad = client.post("/v1/resume-guidance", json={"resume": ""})
    assert ok.status_code == 200 and bad.status_code == 422
    first, second = (s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER)
    assert f"{first.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{first.parent.span_id:016x}" == "b7ad6b7169203331"
    assert second.parent is None and second.context.trace_id != first.context.trace_id
    assert second.attributes["http.response.status_code"] == 422


def test_tracing_is_off_without_an_endpoint(make_client) -> None:
    assert tracing.provider_for(gateway_settings()) is None
    client = make_client(FakeEngine([A.RESUME_OK]))
    assert isinstance(client.app.state.service.tracer, trace.NoOpTracer)
    provider = tracing.provider_for(gateway_settings(otlp_endpoint="http://collector:4318"))
    assert provider is not None
    provider.shutdown()


def test_new_traces_are_head_sampled_and_a_callers_decision_is_followed(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    settings = gateway_settings(otlp_endpoint="http://collector:4318", trace_sample_ratio=0.25)
    provider = tracing.provider_for(settings)
    assert provider is not None
    try:
        assert provider.sampler.get_description() == (
            "ParentBased{root:TraceIdRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,"
            "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
            "localParentNotSampled:AlwaysOffSampler}"
        )
    finally:
        provider.shutdown()
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    provider = tracing.provider_for(settings)
    assert provider is not None
    try:
        assert provider.sampler.get_description() == "AlwaysOnSampler"
    finally:
        provider.shutdown()

"""OpenTelemetry traces, off unless an OTLP endpoint is configured (``OTLP_ENDPOINT``).

When on: FastAPI's instrumentation makes the request's server span, httpx's makes a client span
for every call to vLLM (with W3C trace context in its headers), and the service adds a span per
attempt (``hrstack.attempt``) and per validator run (``hrstack.validate``), so one trace shows
where a slow or retried answer spent its time. When off, the service's tracer is OpenTelemetry's
no-op one and nothing is instrumented: no exporter thread, no per-request cost beyond a no-op
context manager.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from server.settings import Settings

NAME = "hrstack"


def provider_for(settings: Settings) -> TracerProvider | None:
    """A provider exporting to the configured OTLP/HTTP endpoint, or None (tracing off)."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create({"service.name": settings.otel_service_name})
    provider = TracerProvider(resource=resource)
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider | None) -> None:
    """The request's server span (before the app starts: it wraps the middleware stack)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Probes and scrapes would be most of the spans and say nothing.
    # ASGI's receive/send event spans: three more per request, no information.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,health,metrics",
        exclude_spans=["receive", "send"],
    )


def tracer_for(provider: TracerProvider | None, engine: Any) -> trace.Tracer:
    """Client spans on the engine's httpx client (when it has one); the service's tracer."""
    if provider is None:
        return trace.NoOpTracer()
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    http_client = getattr(engine, "http_client", None)
    if http_client is not None:
        HTTPXClientInstrumentor.instrument_client(http_client, tracer_provider=provider)
    return provider.get_tracer(NAME)

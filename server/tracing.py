"""OpenTelemetry traces, off unless an OTLP endpoint is configured (``OTLP_ENDPOINT``).

When on, a task request is one trace: the edge's server span (the caller's W3C ``traceparent``
continued when it sends one), a span per attempt (``hrstack.attempt``) and per validator run
(``hrstack.validate``), and a client span per call to vLLM whose context goes to vLLM in the
``traceparent`` header, so one trace shows where a slow or retried answer spent its time.

The spans are made here and in the edge and engine client rather than by OpenTelemetry's
generic FastAPI/ASGI and httpx instrumentations: those cost 1.7-1.8 ms per request on the
instant upstream (bench_observability, stop 26), most of it wrapper work done even for
unsampled requests, against a budget of 0.2 ms for logs and traces together. The attribute
names are the HTTP semantic conventions' (``http.request.method``, ``http.route``,
``http.response.status_code``, ``url.full``, ``server.address``), so backends read them alike.

Even these five spans cost about 1 ms of CPU per recorded request on 2 cores (about 60 us to
make each span, about 90 us to encode it for OTLP in the exporter's thread, which holds the GIL
while the request waits), so traces are head-sampled: ``TRACE_SAMPLE_RATIO`` (default 10%) of
new traces, and always the ones a caller's ``traceparent`` says it sampled.

When off, the tracer is OpenTelemetry's no-op one: no exporter thread, and per span no more than
a no-op context manager.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span

from hrstack.server.settings import Settings

NAME = "hrstack"
_TRACE_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}


def provider_for(settings: Settings) -> TracerProvider | None:
    """A provider exporting to the configured OTLP/HTTP endpoint, or None (tracing off).

    Head sampling: ``TRACE_SAMPLE_RATIO`` of new traces, every trace a caller sampled; the SDK's
    own ``OTEL_TRACES_SAMPLER`` (and ``..._ARG``) replaces that rule when set."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create({"service.name": settings.otel_service_name})
    sampler = None  # None: the SDK reads OTEL_TRACES_SAMPLER
    if not os.environ.get("OTEL_TRACES_SAMPLER"):
        sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def tracer_for(provider: TracerProvider | None) -> trace.Tracer:
    """The gateway's tracer: the provider's, or the no-op one when tracing is off."""
    return trace.NoOpTracer() if provider is None else provider.get_tracer(NAME)


def child_span(tracer: trace.Tracer, name: str, **options: Any) -> AbstractContextManager[Span]:
    """A span under the current one, or (when that one is not recorded: tracing off or the
    request not sampled) the invalid span at the cost of a context lookup, where the SDK would
    still make and discard a non-recording span (about 20 us each)."""
    if not trace.get_current_span().is_recording():
        return nullcontext(trace.INVALID_SPAN)
    return tracer.start_as_current_span(name, **options)


def client_span(tracer: trace.Tracer, upstream: str, path: str) -> AbstractContextManager[Span]:
    """The span of one POST to vLLM, named and described as the HTTP conventions say."""
    return child_span(
        tracer,
        f"POST {path}",
        kind=trace.SpanKind.CLIENT,
        attributes={"http.request.method": "POST", "server.address": upstream,
                    "url.full": f"{upstream}{path}"},
    )  # fmt: skip


def caller_context(headers: Iterable[tuple[bytes, bytes]]) -> Context | None:
    """The trace a caller's ``traceparent`` (ASGI headers) continues; None when it sent none
    (the common case, answered without running the propagator)."""
    carrier = {_TRACE_HEADERS[k]: v.decode("latin-1") for k, v in headers if k in _TRACE_HEADERS}
    return propagate.extract(carrier) if carrier else None


def inject(headers: MutableMapping[str, str]) -> None:
    """Adds the current span's W3C trace context to an outgoing request's headers."""
    propagate.inject(headers)

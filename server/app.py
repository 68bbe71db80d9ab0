"""The gateway's app factory.

``create_app(settings)`` builds everything from the settings it is given (tests pass their own,
and may pass a fake engine); nothing is created at import time. The lifespan opens the engine
client and the audit log, watches for the engine to come up, runs the constraint self-check
once, keeps probing upstream health, and closes both on shutdown. Every request first passes
``server.edge`` (request id, API key, body limit, admission, deadline, disconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from hrstack.server import tracing
from hrstack.server.admission import Admission
from hrstack.server.audit.sinks import open_audit
from hrstack.server.auth import ApiKeys, document_security
from hrstack.server.edge import EdgeMiddleware
from hrstack.server.engine import EngineClient, EngineHooks, OpenAIHTTPEngine
from hrstack.server.errors import GatewayError, install_error_handlers
from hrstack.server.metrics import Metrics
from hrstack.server.routes import chat, health, match, playground, rank, tasks
from hrstack.server.service import TaskService
from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains
from hrstack.tasks.redaction import Redactor
from hrstack.validators import load_rules

log = logging.getLogger(__name__)


async def _watch_engine(app: FastAPI, poll_s: float = 1.0) -> None:
    """Wait for the engine, prove it enforces every domain's constraint, then keep watching:
    when every upstream is down (a launched vLLM that died and is being restarted) the
    self-check is cleared, so /readyz stays 503 until the new engine is up AND has passed it
    again."""
    service: TaskService = app.state.service
    while True:
        while not await service.engine.ready():
            await asyncio.sleep(poll_s)
        log.info("engine is ready")
        if app.state.settings.self_check:
            await _self_check(app, service, poll_s)
        while service.engine.healthy_share() > 0:
            await asyncio.sleep(poll_s)
        app.state.self_check = None
        log.warning("no engine is up: /readyz is 503 until one is back and passes the self-check")


async def _self_check(app: FastAPI, service: TaskService, poll_s: float) -> None:
    for attempt in range(1, 6):
        try:
            app.state.self_check = await service.self_check()
            log.log(
                logging.INFO if app.state.self_check.ok else logging.ERROR,
                "self-check: %s",
                app.state.self_check.detail,
            )
            return
        except GatewayError as exc:
            log.warning("self-check attempt %d failed: %s", attempt, exc.message)
            await asyncio.sleep(poll_s * attempt)


async def _probe_upstreams(engine: EngineClient, interval_s: float) -> None:
    """Active health checks, so a dead upstream is marked down (and a recovered one up) even
    when no request happens to touch it."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await engine.ready()
        except Exception:  # a probe must never end the loop
            log.exception("upstream health probe failed")


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _engine(settings: Settings, metrics: Metrics) -> OpenAIHTTPEngine:
    hooks = EngineHooks(
        error=lambda kind: metrics.upstream_errors.labels(kind).inc(),
        call=lambda url, outcome: metrics.upstream_calls.labels(url, outcome).inc(),
        failover=lambda url, kind: metrics.failovers.labels(url, kind).inc(),
        health=lambda url, healthy: metrics.upstream_healthy.labels(url).set(healthy),
    )
    return OpenAIHTTPEngine(
        settings.engine_urls(),
        timeout_s=settings.upstream_timeout_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        retry_after_s=settings.retry_after_s,
        hooks=hooks,
        probe_timeout_s=settings.health_check_timeout_s,
        slow_probes_to_down=settings.health_check_slow_strikes,
    )


def create_app(
    settings: Settings,
    engine: EngineClient | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The gateway. ``tracer_provider`` overrides the one OTLP_ENDPOINT would make (tests)."""
    metrics = Metrics()
    provider = tracer_provider or tracing.provider_for(settings)
    tracer = tracing.tracer_for(provider)
    domains = load_domains(settings.domains_file)
    rules = load_rules(settings.validators_file)
    redactor = Redactor(settings.redact_categories, rules.rank.protected_terms)
    if not settings.api_keys:
        log.warning("API_KEYS is not set: every endpoint is open; set keys before exposing it")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = engine or _engine(settings, metrics)
        if isinstance(client, OpenAIHTTPEngine):
            client.tracer = tracer
        app.state.service = TaskService(
            client, domains, rules, metrics, model=settings.served_model_name,
            neutralize_injection=settings.neutralize_injection, redactor=redactor,
            send_seeds=settings.sends_seeds(), input_overflow=settings.input_overflow,
            constrained=settings.constrained_decoding,
            tracer=tracer,
        )  # fmt: skip
        app.state.audit = await open_audit(settings)
        background = [
            asyncio.create_task(_watch_engine(app)),
            asyncio.create_task(_probe_upstreams(client, settings.health_check_interval_s)),
        ]
        try:
            yield
        finally:
            await _stop(background)
            await client.aclose()
            if app.state.audit is not None:
                await app.state.audit.aclose()
            if provider is not None and tracer_provider is None:
                provider.shutdown()  # flushes the spans still queued for export

    app = FastAPI(
        title="hrstack",
        version="0.1.0",
        summary="HR task endpoints over vLLM; every answer validated, retried, and reported.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.self_check = None
    app.state.audit = None
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(tasks.router)
    app.include_router(match.router)
    app.include_router(rank.router)
    app.include_router(chat.router)
    if settings.playground:
        app.include_router(playground.router)
    task_paths = {domains[name].path: name for name in domains.names()}
    _guard(app, settings, metrics, {**task_paths, "/v1/chat/completions": "chat_completions"},
           tracer)  # fmt: skip
    return app


def _guard(
    app: FastAPI,
    settings: Settings,
    metrics: Metrics,
    task_paths: dict[str, str],
    tracer: trace.Tracer,
) -> None:
    """Auth, admission, body limit and deadline around every route, and auth in the docs."""
    keys = ApiKeys(settings.api_keys, settings.auth_open_paths)

    def healthy_share() -> float:
        service: TaskService | None = getattr(app.state, "service", None)
        return 1.0 if service is None else service.engine.healthy_share()

    admission = Admission(
        settings.admission_limit(),
        healthy_share=healthy_share,
        retry_after_s=settings.admission_retry_after_s,
        unavailable_retry_after_s=settings.retry_after_s,
    )
    metrics.admission_limit.set_function(admission.current_limit)
    app.add_middleware(
        EdgeMiddleware,
        keys=keys,
        admission=admission,
        metrics=metrics,
        task_paths=task_paths,
        max_body_bytes=settings.max_body_bytes,
        deadline_s=settings.request_deadline_s,
        tracer=tracer,
    )
    if keys.enabled:
        build_schema = app.openapi

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                app.openapi_schema = document_security(build_schema(), keys.open_paths)
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]

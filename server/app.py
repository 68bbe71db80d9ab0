"""The gateway's app factory.

``create_app(settings)`` builds everything from the settings it is given (tests pass their own,
and may pass a fake engine); nothing is created at import time. The lifespan opens the engine
client, watches for the engine to come up, runs the rank-schema self-check once, and closes the
client on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from server.domains import load_domains
from server.engine import EngineClient, OpenAIHTTPEngine
from server.errors import GatewayError, install_error_handlers
from server.metrics import Metrics
from server.routes import health, rank, tasks
from server.service import TaskService
from server.settings import Settings
from validators import load_rules

log = logging.getLogger(__name__)


async def _watch_engine(app: FastAPI, poll_s: float = 1.0) -> None:
    """Wait for the engine, then prove it enforces the rank schema (retrying a failed call)."""
    service: TaskService = app.state.service
    while not await service.engine.ready():
        await asyncio.sleep(poll_s)
    log.info("engine is ready")
    if not app.state.settings.self_check:
        return
    for attempt in range(1, 6):
        try:
            app.state.self_check = await service.schema_self_check()
            log.log(
                logging.INFO if app.state.self_check.ok else logging.ERROR,
                "self-check: %s",
                app.state.self_check.detail,
            )
            return
        except GatewayError as exc:
            log.warning("self-check attempt %d failed: %s", attempt, exc.message)
            await asyncio.sleep(poll_s * attempt)


def _request_id_middleware(
    app: FastAPI, metrics: Metrics, paths: dict[str, str]
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given[:64] if given else uuid.uuid4().hex
        domain = paths.get(request.url.path)
        if domain is None:
            response = await call_next(request)
        else:
            started = time.perf_counter()
            metrics.in_flight.inc()
            try:
                response = await call_next(request)
            finally:
                metrics.in_flight.dec()
            metrics.latency.labels(domain).observe(time.perf_counter() - started)
            metrics.requests.labels(domain, str(response.status_code)).inc()
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    return middleware


def create_app(settings: Settings, engine: EngineClient | None = None) -> FastAPI:
    metrics = Metrics()
    domains = load_domains(settings.domains_file)
    rules = load_rules(settings.validators_file)

    def on_upstream_error(kind: str) -> None:
        metrics.upstream_errors.labels(kind).inc()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = engine or OpenAIHTTPEngine(
            settings.engine_urls(),
            timeout_s=settings.upstream_timeout_s,
            connect_timeout_s=settings.upstream_connect_timeout_s,
            retry_after_s=settings.retry_after_s,
            on_error=on_upstream_error,
        )
        app.state.service = TaskService(
            client,
            domains,
            rules,
            metrics,
            model=settings.served_model_name,
            batch_concurrency=settings.batch_concurrency,
        )
        watcher = asyncio.create_task(_watch_engine(app))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await client.aclose()

    app = FastAPI(
        title="hrstack",
        version="0.1.0",
        summary="HR task endpoints over vLLM; every answer validated, retried, and reported.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.self_check = None
    install_error_handlers(app)
    paths = {domains[name].path: name for name in domains.names()}
    app.middleware("http")(_request_id_middleware(app, metrics, paths))
    app.include_router(health.router)
    app.include_router(tasks.router)
    app.include_router(rank.router)
    return app

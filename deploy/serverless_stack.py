"""vLLM and the gateway inside a RunPod Serverless worker: started once, beside the job loop.

The runpod SDK owns the main thread and runs each job in an event loop of its own (a fresh
``asyncio.run`` in local test mode, its worker loop or uvicorn's elsewhere). The gateway's
lifespan (the engine client, the self-check, the upstream probes, the audit sink) must live in
one loop for the worker's whole life, so the stack runs in a thread with its own loop, on
loopback, exactly as `hrstack serve` builds it (``server.launcher.prepare`` and ``serve``:
the supervised vLLM, unless UPSTREAM_URLS names one, and the real app). Jobs reach it over
HTTP, through the edge: validation, admission, deadlines, audit and metrics all apply.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import httpx
import uvicorn
from fastapi import FastAPI

from hrstack.server.launcher import prepare, serve, uvicorn_config
from hrstack.server.settings import Settings
from hrstack.server.supervisor import EngineSupervisor

log = logging.getLogger(__name__)


class WorkerStack:
    """``start``, ``wait_ready``, ``stop``. ``on_failure`` runs when the stack ends by itself
    (vLLM beyond restarting, or never ready), so a worker that is taking jobs can exit and
    RunPod replace it rather than fail every job it takes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.port}"
        self.exit_code: int | None = None
        self.on_failure: Callable[[], None] = lambda: None
        self._stopping = False
        self._server: uvicorn.Server | None = None
        self._supervisor: EngineSupervisor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FastAPI:
        """vLLM starting (unless UPSTREAM_URLS) and the gateway serving; the gateway's app."""
        app, self._supervisor = prepare(self.settings)
        self._server = uvicorn.Server(uvicorn_config(self.settings, app))
        self._thread = threading.Thread(target=self._run, name="hrstack-gateway", daemon=True)
        self._thread.start()
        return app

    def _run(self) -> None:
        assert self._server is not None
        try:
            self.exit_code = asyncio.run(serve(self._server, self.settings, self._supervisor))
        except Exception:
            log.exception("the worker's gateway stopped with an error")
            self.exit_code = 1
        if not self._stopping:
            log.error("the worker's gateway ended (exit %s); stopping the worker", self.exit_code)
            self.exit_code = self.exit_code or 1
            self.on_failure()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_ready(self, poll_s: float = 1.0) -> bool:
        """Until /readyz answers 200 (True: vLLM is up and passed the self-check) or the stack
        ended (False). No deadline of its own: the launcher's stops the stack after
        ENGINE_START_TIMEOUT_S, as it does for `hrstack serve`."""
        while self.alive:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(poll_s)
        return False

    def stop(self, grace_s: float = 30.0) -> None:
        """The gateway drains, then vLLM is stopped (SIGTERM, then SIGKILL)."""
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(grace_s)
        if self._supervisor is not None:
            self._supervisor.stop()

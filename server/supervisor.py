"""Keeping the launched vLLM alive: restart on death with bounded backoff, give up loudly.

An engine process can die of things no request validation prevents (an engine bug on one input,
the OOM killer, a driver reset). The gateway must not die with it: while the engine is down it
answers 503 with Retry-After (admission sees no healthy upstream) and ``/readyz`` is 503 until
the new engine is up and has passed the constraint self-check again (server.app watches that).

Restarts back off exponentially (``ENGINE_BACKOFF_S`` doubling to ``ENGINE_BACKOFF_MAX_S``,
counted from the deaths inside the window, so a long healthy run starts again from the first
step). An engine that dies more than ``ENGINE_MAX_RESTARTS`` times within
``ENGINE_RESTART_WINDOW_S`` is broken, not unlucky: the launcher then stops the stack and exits
non-zero, so an orchestrator (systemd, Kubernetes, RunPod) sees a failed container instead of
one flapping forever behind a green liveness probe.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

log = logging.getLogger(__name__)

#: Lines of the engine's output kept to say why it died.
TAIL_LINES = 200
_ERROR_LINE = re.compile(r"(Error|Exception|Killed|out of memory|OOM)\b")


class OutputTail:
    """Copies the engine's output through to ours and keeps its last lines (for the reason)."""

    def __init__(self, stream: IO[bytes], sink: IO[str] | None = None) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._sink = sink if sink is not None else sys.stdout
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            with contextlib.suppress(OSError, ValueError):  # our stdout is gone: keep draining
                self._sink.write(line + "\n")
                self._sink.flush()

    def join(self, timeout_s: float = 2.0) -> None:
        self._thread.join(timeout_s)

    def last_error(self) -> str | None:
        for line in reversed(self.lines):
            if _ERROR_LINE.search(line):
                return line.strip()[-300:]
        return None


def exit_reason(returncode: int) -> str:
    """A label for the metric: ``exit_1`` or ``signal_SIGKILL``."""
    if returncode < 0:
        try:
            return f"signal_{signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal_{-returncode}"
    return f"exit_{returncode}"


class EngineSupervisor:
    """Owns the engine process: ``start``, ``watch`` (restarts), ``stop``."""

    def __init__(
        self,
        spawn: Callable[[], tuple[subprocess.Popen[bytes], OutputTail | None]],
        stop: Callable[[subprocess.Popen[bytes]], None],
        *,
        max_restarts: int,
        window_s: float,
        backoff_s: float,
        backoff_max_s: float,
        on_restart: Callable[[str], None] = lambda reason: None,
        clock: Callable[[], float] = time.monotonic,
        poll_s: float = 0.5,
    ) -> None:
        self._spawn, self._stop = spawn, stop
        self.max_restarts, self.window_s = max_restarts, window_s
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self._on_restart = on_restart
        self._clock = clock
        self._poll_s = poll_s
        self.deaths: collections.deque[float] = collections.deque()
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.tail: OutputTail | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.proc, self.tail = self._spawn()
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            self._stop(self.proc)

    def backoff(self) -> float:
        """Wait before the next start: doubles with each death inside the window."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** max(0, len(self.deaths) - 1)))

    def record_death(self, returncode: int) -> tuple[str, bool]:
        """Count a death; returns (reason, give_up)."""
        now = self._clock()
        self.deaths.append(now)
        while self.deaths and now - self.deaths[0] > self.window_s:
            self.deaths.popleft()
        reason = exit_reason(returncode)
        return reason, len(self.deaths) > self.max_restarts

    async def watch(self, should_stop: Callable[[], bool]) -> int:
        """Until ``should_stop``: restart the engine whenever it dies. Returns 1 after giving up
        (the caller stops the gateway), 0 when asked to stop."""
        while not should_stop():
            proc = self.proc
            if proc is None or proc.poll() is None:
                await asyncio.sleep(self._poll_s)
                continue
            if self.tail is not None:
                self.tail.join()  # the last lines, the traceback among them, are read
            reason, give_up = self.record_death(proc.returncode)
            why = (self.tail.last_error() if self.tail else None) or "no error line in its output"
            if give_up:
                log.error(
                    "vLLM died (%s: %s) %d times within %.0fs, more than ENGINE_MAX_RESTARTS=%d; "
                    "giving up and stopping the stack",
                    reason, why, len(self.deaths), self.window_s, self.max_restarts,
                )  # fmt: skip
                return 1
            wait = self.backoff()
            log.error(
                "vLLM died (%s: %s); restarting it in %.1fs (death %d of at most %d within %.0fs)",
                reason, why, wait, len(self.deaths), self.max_restarts, self.window_s,
            )  # fmt: skip
            self._on_restart(reason)
            deadline = self._clock() + wait
            while self._clock() < deadline and not should_stop():
                await asyncio.sleep(min(self._poll_s, wait))
            if should_stop():
                return 0
            self.restarts += 1
            self.start()
        return 0

"""Request-scoped logging: every line about a request carries its id, domain and caller, and the
attempt and upstream where one is running; ``LOG_FORMAT=json`` writes one JSON object a line.

The context lives in contextvars, set by the edge for the request and by the service and the
engine client for each attempt and upstream call. asyncio copies the context into every task,
so the route's task and each candidate's task of a rank batch see their request's values
without passing them along. The stdlib's logging does the rest: a filter copies the context
onto each record, a formatter writes it (no logging library needed for one dict per line).
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]

request_id: ContextVar[str | None] = ContextVar("hrstack_request_id", default=None)
domain: ContextVar[str | None] = ContextVar("hrstack_domain", default=None)
caller: ContextVar[str | None] = ContextVar("hrstack_caller", default=None)
attempt: ContextVar[int | None] = ContextVar("hrstack_attempt", default=None)
upstream: ContextVar[str | None] = ContextVar("hrstack_upstream", default=None)
_CONTEXT: dict[str, ContextVar[Any]] = {
    "request_id": request_id, "domain": domain, "caller": caller, "attempt": attempt,
    "upstream": upstream,
}  # fmt: skip
#: LogRecord's own attributes: anything else set on a record came from ``extra=``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
#: How often the writer thread writes a request's lines (see :class:`_BatchWriter`).
WRITE_INTERVAL_S = 0.05


class ContextFilter(logging.Filter):
    """Copies the request's context onto each record (an explicit ``extra=`` value wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _CONTEXT.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RESERVED and value is not None and not name.startswith("_"):
                entry[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id (and attempt) where there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        if rid is None:
            return line
        attempt_no = getattr(record, "attempt", None)
        where = f"{rid}#{attempt_no}" if attempt_no else rid
        return f"[{where}] {line}"


class _BatchWriter:
    """Formats and writes queued records in batches, every ``WRITE_INTERVAL_S``, off the
    request path. The stdlib's QueueListener blocks on the queue and so wakes its thread for
    every record: on this 2-core VM each wake-up (a cross-CPU signal, then the GIL handed
    between two threads mid-request) cost more than formatting the line, ~0.1 ms a request
    with two lines (bench_observability). Polling drains whatever a burst queued in one
    wake-up and one write; a line appears at most one interval late, and ``stop`` (at exit,
    or :func:`flush`) writes everything still queued; a SIGKILL loses at most the last
    interval's lines. (The root logger's level filters records before they are queued.)"""

    def __init__(
        self, records: queue.SimpleQueue[logging.LogRecord], output: logging.StreamHandler[TextIO]
    ) -> None:
        self._records, self._output = records, output
        self._interval = WRITE_INTERVAL_S
        self._stopping, self._woken = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Write what is queued now, not at the next round."""
        self._woken.set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="hrstack-log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._woken.set()
            self._thread.join()
            self._thread = None
        self._drain()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._woken.wait(self._interval)
            self._woken.clear()
            self._drain()

    def _drain(self) -> None:
        lines: list[str] = []
        while True:
            try:
                record = self._records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self._output.format(record))
            except Exception:  # a bad record must not end the writer; the stdlib's way
                self._output.handleError(record)
        if lines:
            self._output.acquire()
            try:
                self._output.stream.write("\n".join(lines) + "\n")
                self._output.flush()
            finally:
                self._output.release()


class _Enqueue(logging.handlers.QueueHandler):
    """Queues the record itself, its message merged: the stdlib's ``prepare`` also formats it
    with this handler's formatter and copies it, work the listener's formatter redoes. A line
    outside any request (start-up, the engine's supervision) or at WARNING and above wakes the
    writer at once; a request's own lines wait for its next round (:class:`_BatchWriter`)."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], writer: _BatchWriter):
        super().__init__(records)
        self._writer = writer

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg = record.getMessage()
        record.args = None
        return record

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if record.levelno >= logging.WARNING or getattr(record, "request_id", None) is None:
            self._writer.wake()


_listener: _BatchWriter | None = None


def configure(fmt: LogFormat = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """The root logger's one handler, uvicorn's loggers sent to it (uvicorn's access log is
    off: the edge writes one line per request with more in it).

    The request path only queues the record (QueueHandler, after the context filter has read
    the request's contextvars); a listener thread formats and writes it. Formatting JSON and
    writing to a file on the request path cost ~0.3 ms a line on this 2-core machine, over
    the observability budget (bench_observability); queued, a line costs ~6-10 us there."""
    global _listener
    if _listener is not None:
        _listener.stop()
    output = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        output.setFormatter(JsonFormatter())
    else:
        output.setFormatter(TextFormatter("%(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = _BatchWriter(records, output)
    handler = _Enqueue(records, _listener)
    # The logging docs' own optimizations: no line shows the caller's file and line, thread or
    # process, so records do not look them up (a frame walk and two calls per line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler.addFilter(ContextFilter())
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream call is noise


def flush() -> None:
    """Write every queued record (at exit, and in tests before reading the output)."""
    global _listener
    if _listener is not None:
        _listener.stop()  # drains the queue
        _listener.start()


@atexit.register
def _stop_listener() -> None:
    if _listener is not None:
        _listener.stop()

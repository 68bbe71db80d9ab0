"""An append-only JSONL record of every rank decision, durable before the client hears of it.

Each decision is one line, written with a single ``write`` on an ``O_APPEND`` descriptor and
fsynced before the response is sent, so an answered decision is on disk. Crash safety:

* a crash mid-write can leave a partial last line; the next open moves that fragment to a
  ``.torn`` sidecar and truncates the log back to its last complete line (the fragment's request
  was never answered, because the answer waits for the fsync);
* a failed write (disk full) truncates back to where it started, so later lines never glue onto
  a fragment, and the request is refused (503) rather than answered without a record;
* rotation renames the full file to ``<stem>.<NNNNNN><suffix>`` under the same lock that guards
  writes, between whole lines, then fsyncs the directory: every line is in exactly one file.

One gateway process per file: the lock is a thread lock, and the file is one writer's hash
chain (server/audit/chain.py), continued across restarts and rotations from the last record.
Run replicas with their own ``AUDIT_LOG_PATH``, or share PostgreSQL (``AUDIT_DSN``,
server/audit/postgres.py); ``read_records`` reads the rotated files and the live one in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hrstack.server.audit.chain import Chain, canonical

log = logging.getLogger(__name__)


class AuditWriteError(OSError):
    """The record could not be made durable; the decision must not be answered."""


def rotated_files(path: Path) -> list[Path]:
    """Rotated files of ``path``, oldest first."""
    pattern = re.compile(re.escape(path.stem) + r"\.(\d{6})" + re.escape(path.suffix) + "$")
    numbered = [
        (int(m[1]), p) for p in path.parent.glob(f"{path.stem}.*") if (m := pattern.match(p.name))
    ]
    return [p for _, p in sorted(numbered)]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _repair_torn_tail(path: Path) -> int:
    """Cut a partial last line off ``path`` (kept in ``<path>.torn``); returns bytes cut."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
        f.seek(0)
        data = f.read()
        keep = data.rfind(b"\n") + 1
        with open(path.with_name(path.name + ".torn"), "ab") as torn:
            torn.write(data[keep:] + b"\n")
            torn.flush()
            os.fsync(torn.fileno())
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    log.warning("audit log %s ended in a torn line; moved %d bytes aside", path, len(data) - keep)
    return len(data) - keep


def _last_line(file: Path, block: int = 1 << 16) -> bytes | None:
    """The last complete line of ``file`` (read backwards, so a 64 MB log costs one block)."""
    with open(file, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        tail = b""
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            tail = f.read(end - start) + tail
            end = start
            lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
            if len(lines) == 2 or end == 0:
                return lines[-1] if lines[-1] else None
    return None


def last_record(path: Path) -> dict[str, Any] | None:
    """The newest record of the log (the live file, else the newest rotated one)."""
    for file in reversed([*rotated_files(path), path]):
        if file.exists() and (line := _last_line(file)) is not None:
            record: dict[str, Any] = json.loads(line)
            return record
    return None


class AuditLog:
    """The file sink: one gateway's chained, fsynced JSONL log."""

    def __init__(
        self, path: Path, *, max_bytes: int = 64 * 1024 * 1024, writer: str | None = None
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        _repair_torn_tail(path)
        self.chain = Chain.resume(last_record(path), writer)
        self._lock = threading.Lock()
        self._fd = self._open()

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_dir(self.path.parent)
        return fd

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Seal ``records`` into the chain, write them as lines and fsync; blocking (call
        through ``append_async``). The chain advances only once the lines are durable."""
        with self._lock:
            sealed = self.chain.seal(records)
            data = b"".join(canonical(record) + b"\n" for record in sealed)
            start = os.fstat(self._fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                os.fsync(self._fd)
            except OSError as exc:
                os.ftruncate(self._fd, start)
                raise AuditWriteError(exc.errno, f"audit log {self.path}: {exc.strerror}") from exc
            self.chain.advance(sealed)
            if start + len(data) >= self.max_bytes:
                self._rotate()

    async def append_async(self, records: Sequence[Mapping[str, Any]]) -> None:
        """``append`` off the event loop; shielded, so a cancelled request still finishes its
        write rather than leaving a fragment."""
        await asyncio.shield(asyncio.to_thread(self.append, records))

    def _rotate(self) -> None:
        existing = rotated_files(self.path)
        number = int(existing[-1].name.rsplit(".", 2)[-2]) + 1 if existing else 1
        target = self.path.with_name(f"{self.path.stem}.{number:06d}{self.path.suffix}")
        os.rename(self.path, target)
        os.close(self._fd)
        self._fd = self._open()  # fsyncs the directory: the rename and the new file are durable
        log.info("audit log rotated to %s", target)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    async def aclose(self) -> None:
        self.close()


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete record, rotated files first; an unterminated last line is skipped (it
    was never acknowledged) and a line that is not JSON raises, naming file and line."""
    for file in [*rotated_files(path), path]:
        if not file.exists():
            continue
        with open(file, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.endswith(b"\n"):
                    break
                try:
                    yield json.loads(raw)
                except ValueError as exc:
                    raise ValueError(f"{file}:{number}: not a JSON record ({exc})") from exc

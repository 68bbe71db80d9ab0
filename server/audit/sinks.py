"""Where decisions are recorded: the shared PostgreSQL table when ``AUDIT_DSN`` is set, else
the gateway's own file, else nowhere (``AUDIT_LOG_PATH=off``). Both sinks take a batch, make
it durable before returning, and raise ``AuditWriteError`` when they cannot."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from hrstack.server.audit.log import AuditLog, read_records
from hrstack.server.settings import Settings


class AuditSink(Protocol):
    async def append_async(self, records: Sequence[Mapping[str, Any]]) -> None: ...

    async def aclose(self) -> None: ...


async def open_audit(settings: Settings) -> AuditSink | None:
    if settings.audit_dsn is not None:
        from hrstack.server.audit.postgres import PostgresAuditLog  # psycopg only when it is used

        sink = PostgresAuditLog(settings.audit_dsn.get_secret_value(), writer=settings.audit_writer)
        await sink.open()
        return sink
    if settings.audit_log_path is not None:
        path, writer = settings.audit_log_path, settings.audit_writer
        return AuditLog(path, max_bytes=settings.audit_max_bytes, writer=writer)
    return None


def stored_records(log: Path | None = None, dsn: str | None = None) -> Iterator[dict[str, Any]]:
    """The records of a file log or of the database, for ``hrstack audit``."""
    if dsn is not None:
        from hrstack.server.audit.postgres import read_records_pg

        return read_records_pg(dsn)
    if log is None:
        raise ValueError("give the file log or the database DSN")
    return read_records(log)

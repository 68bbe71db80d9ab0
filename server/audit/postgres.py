"""The PostgreSQL sink: one audit trail shared by every gateway replica (``AUDIT_DSN``).

Same guarantee as the file: a decision's records are committed before it is answered, and a
failed write is a 503, never an unrecorded answer. Each gateway process is one writer with its
own hash chain (server/audit/chain.py), so replicas never serialize on each other: a process's
writes go one at a time through its own connection, each batch in one transaction (a gateway
killed mid-write leaves the batch whole or absent, never part of it). ``record`` holds the
canonical JSON the hash covers, byte for byte; ``writer``, ``seq``, ``request_id`` and
``domain`` are copied into columns for the uniqueness constraint and for queries.

After any failure the connection is dropped and the next write reconnects and re-reads this
writer's head from the table, so a commit whose acknowledgement was lost is not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from hrstack.server.audit.chain import Chain, canonical, new_writer_id
from hrstack.server.audit.log import AuditWriteError

TABLE = "hrstack_audit"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    id         bigserial PRIMARY KEY,
    writer     text        NOT NULL,
    seq        bigint      NOT NULL,
    request_id text        NOT NULL,
    domain     text        NOT NULL,
    record     text        NOT NULL,
    hash       text        NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (writer, seq)
)
"""
#: Replicas starting together would race CREATE TABLE IF NOT EXISTS (a unique violation on
#: the catalog); one advisory lock id, held for the transaction, orders them.
_CREATE_LOCK = 0x6872_7374


class PostgresAuditLog:
    def __init__(
        self,
        dsn: str,
        *,
        writer: str | None = None,
        table: str = TABLE,
        timeout_s: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.table = sql.Identifier(table)
        self._insert = sql.SQL(
            "INSERT INTO {} (writer, seq, request_id, domain, record, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s)"
        ).format(self.table)
        self.timeout_s = timeout_s
        self.chain = Chain(writer or new_writer_id())
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect and create the table; called at start-up so a wrong DSN fails loudly there."""
        async with self._lock:
            await self._connect()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await psycopg.AsyncConnection.connect(
            self.dsn, connect_timeout=max(1, int(self.timeout_s)), autocommit=False
        )
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
                await conn.execute(sql.SQL(_SCHEMA).format(table=self.table))
            cursor = await conn.execute(
                sql.SQL(
                    "SELECT seq, hash FROM {} WHERE writer = %s ORDER BY seq DESC LIMIT 1"
                ).format(self.table),
                (self.chain.writer,),
            )
            head = await cursor.fetchone()
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if head is not None:
            self.chain.seq, self.chain.head = int(head[0]), str(head[1])
        self._conn = conn
        return conn

    async def append_async(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Commit ``records`` as one transaction; shielded, so a request cancelled mid-write
        does not abandon the connection half way."""
        await asyncio.shield(self._append(records))

    async def _append(self, records: Sequence[Mapping[str, Any]]) -> None:
        async with self._lock:
            try:
                await asyncio.wait_for(self._write(records), self.timeout_s)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                await self._drop()
                reason = str(exc) or type(exc).__name__
                raise AuditWriteError(errno.EIO, f"audit database: {reason}") from exc

    async def _write(self, records: Sequence[Mapping[str, Any]]) -> None:
        conn = await self._connect()
        sealed = self.chain.seal(records)
        rows = [
            (r["writer"], r["seq"], str(r.get("request_id", "")), str(r.get("domain", "")),
             canonical(r).decode("utf-8"), r["hash"])
            for r in sealed
        ]  # fmt: skip
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.executemany(self._insert, rows)
        self.chain.advance(sealed)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # closing a broken connection may fail too; it is gone either way
            with contextlib.suppress(Exception):
                await conn.close()

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()


def read_records_pg(dsn: str, table: str = TABLE) -> Iterator[dict[str, Any]]:
    """Every record in insertion order (replicas' chains interleaved; verify splits them)."""
    with psycopg.connect(dsn) as conn, conn.cursor(name="hrstack_audit_read") as cursor:
        cursor.execute(sql.SQL("SELECT record FROM {} ORDER BY id").format(sql.Identifier(table)))
        for (text,) in cursor:
            record: dict[str, Any] = json.loads(text)
            yield record

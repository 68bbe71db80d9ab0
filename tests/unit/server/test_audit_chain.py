"""The audit trail's hash chain, on both sinks: the file and a real PostgreSQL server.

Table-driven tamper tests: each way of altering a trail (a deleted record, a swapped pair, an
edited field, an edited field with its hash recomputed) is applied to a written trail, and
``hrstack audit verify`` must fail naming the record. The PostgreSQL sink runs against a real
server started by the ``postgres`` fixture (tests/postgres.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from hrstack.server.audit.chain import GENESIS, Chain, canonical, record_hash, verify
from hrstack.server.audit.cli import app as audit_cli
from hrstack.server.audit.log import AuditLog, AuditWriteError, read_records
from hrstack.server.audit.postgres import PostgresAuditLog, read_records_pg
from tests.postgres import PostgresServer

Records = list[dict[str, Any]]


def decisions(n: int, start: int = 0) -> Records:
    return [{"domain": "rank", "request_id": f"r{i}", "decision": "shortlist",
             "score": 0.5 + i / 100} for i in range(start, start + n)]  # fmt: skip


# --- the chain itself ----------------------------------------------------------------------------


def test_a_sealed_batch_links_each_record_to_the_one_before() -> None:
    chain = Chain("w1")
    sealed = chain.seal(decisions(3))
    assert [r["seq"] for r in sealed] == [1, 2, 3]
    assert sealed[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in sealed[1:]] == [r["hash"] for r in sealed[:-1]]
    assert all(record_hash(r) == r["hash"] for r in sealed)
    assert chain.seq == 0, "sealing does not advance: only a durable write does"
    chain.advance(sealed)
    assert (chain.seq, chain.head) == (3, sealed[-1]["hash"])
    assert verify(sealed).ok


def test_two_writers_interleaved_are_two_valid_chains() -> None:
    a, b = Chain("a"), Chain("b")
    ra, rb = a.seal(decisions(3)), b.seal(decisions(3, 10))
    result = verify([ra[0], rb[0], rb[1], ra[1], ra[2], rb[2]])
    assert result.ok and {w: h.records for w, h in result.chains.items()} == {"a": 3, "b": 3}


def test_unchained_records_of_earlier_versions_are_counted_not_failed() -> None:
    sealed = Chain("w").seal(decisions(2))
    result = verify([{"domain": "rank", "request_id": "old"}, *sealed])
    assert result.ok and result.unchained == 1 and result.records == 3


# --- tampering, table-driven, on both sinks -----------------------------------------------------


def _delete(records: Records) -> Records:
    return records[:3] + records[4:]


def _swap(records: Records) -> Records:
    return [*records[:3], records[4], records[3], *records[5:]]


def _edit(records: Records) -> Records:
    edited = {**records[3], "decision": "reject"}
    return [*records[:3], edited, *records[4:]]


def _edit_and_rehash(records: Records) -> Records:
    edited = {**records[3], "decision": "reject"}
    edited["hash"] = record_hash(edited)
    return [*records[:3], edited, *records[4:]]


TAMPERS: list[tuple[str, Callable[[Records], Records], str, int]] = [
    # (name, tamper, problem kind, seq named)
    ("deleted record", _delete, "missing", 5),
    ("swapped pair", _swap, "out_of_order", 4),
    ("edited field", _edit, "edited", 4),
    ("edited field, hash recomputed", _edit_and_rehash, "broken_link", 5),
]


class FileStore:
    def __init__(self, tmp_path: Path, postgres: PostgresServer) -> None:
        self.path = tmp_path / "audit" / "rank.jsonl"

    async def write(self, batches: list[Records]) -> None:
        log = AuditLog(self.path)
        for batch in batches:
            await log.append_async(batch)
        await log.aclose()

    def read(self) -> Records:
        return list(read_records(self.path))

    def replace(self, records: Records) -> None:
        self.path.write_bytes(b"".join(canonical(r) + b"\n" for r in records))

    def cli_args(self) -> list[str]:
        return ["--log", str(self.path)]


class PgStore:
    def __init__(self, tmp_path: Path, postgres: PostgresServer) -> None:
        self.dsn = postgres.new_database()

    async def write(self, batches: list[Records]) -> None:
        log = PostgresAuditLog(self.dsn)
        await log.open()
        for batch in batches:
            await log.append_async(batch)
        await log.aclose()

    def read(self) -> Records:
        return list(read_records_pg(self.dsn))

    def replace(self, records: Records) -> None:
        """What someone with write access to the table could do: rewrite its rows."""
        with psycopg.connect(self.dsn) as conn:
            conn.execute("DELETE FROM hrstack_audit")
            for r in records:
                conn.execute(
                    "INSERT INTO hrstack_audit (writer, seq, request_id, domain, record, hash) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (r["writer"], r["seq"], r["request_id"], r["domain"],
                     canonical(r).decode(), r["hash"]),
                )  # fmt: skip

    def cli_args(self) -> list[str]:
        return ["--dsn", self.dsn]


STORES = [pytest.param(FileStore, id="file"), pytest.param(PgStore, id="postgres")]


@pytest.mark.parametrize("store_type", STORES)
@pytest.mark.parametrize(("name", "tamper", "kind", "seq"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_verify_names_every_kind_of_tampering(
    store_type: Any, name: str, tamper: Callable[[Records], Records], kind: str, seq: int,
    tmp_path: Path, postgres: PostgresServer,
) -> None:  # fmt: skip
    store = store_type(tmp_path, postgres)
    asyncio.run(store.write([decisions(2), decisions(1, 2), decisions(4, 3)]))
    runner = CliRunner()
    clean = runner.invoke(audit_cli, ["verify", *store.cli_args()])
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.output)
    assert report["ok"] and report["records"] == 7
    assert [h["seq"] for h in report["chains"].values()] == [7]

    store.replace(tamper(store.read()))
    result = runner.invoke(audit_cli, ["verify", *store.cli_args()])
    assert result.exit_code == 1, f"{name} went unnoticed: {result.output}"
    problems = json.loads(result.output)["problems"]
    assert [(p["kind"], p["seq"]) for p in problems] == [(kind, seq)], problems


@pytest.mark.parametrize("store_type", STORES)
def test_a_restarted_writer_continues_its_chain(
    store_type: Any, tmp_path: Path, postgres: PostgresServer
) -> None:
    """The file continues the chain it finds; on PostgreSQL a process is one writer, and one that
    comes back under the same AUDIT_WRITER continues from the table's head."""
    store = store_type(tmp_path, postgres)
    if isinstance(store, FileStore):
        asyncio.run(store.write([decisions(2)]))
        asyncio.run(store.write([decisions(2, 2)]))
    else:

        async def twice() -> None:
            for start in (0, 2):
                log = PostgresAuditLog(store.dsn, writer="gw-1")
                await log.open()
                await log.append_async(decisions(2, start))
                await log.aclose()

        asyncio.run(twice())
    records = store.read()
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert len({r["writer"] for r in records}) == 1
    assert verify(records).ok


def test_the_file_chain_continues_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "rank.jsonl"
    log = AuditLog(path, max_bytes=4096)
    for i in range(40):
        log.append(decisions(1, i))
    log.close()
    log = AuditLog(path, max_bytes=4096)  # reopened after rotations: the head is in a rotated file
    log.append(decisions(1, 40))
    log.close()
    records = list(read_records(path))
    assert len(records) == 41 and [r["seq"] for r in records] == list(range(1, 42))
    assert verify(records).ok


def test_a_failed_file_write_does_not_advance_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from hrstack.server.audit import log as audit_log

    log = AuditLog(tmp_path / "rank.jsonl")
    log.append(decisions(1))

    def disk_full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    real_write = audit_log.os.write
    monkeypatch.setattr(audit_log.os, "write", disk_full)
    with pytest.raises(AuditWriteError):
        log.append(decisions(1, 1))
    monkeypatch.setattr(audit_log.os, "write", real_write)
    log.append(decisions(1, 2))
    log.close()
    records = list(read_records(tmp_path / "rank.jsonl"))
    assert [(r["request_id"], r["seq"]) for r in records] == [("r0", 1), ("r2", 2)]
    assert verify(records).ok


# --- PostgreSQL: concurrency, failures ------------------------------------------------------------


def test_concurrent_writers_on_one_table_lose_and_duplicate_nothing(
    postgres: PostgresServer,
) -> None:
    dsn = postgres.new_database()

    async def gateway(name: str) -> None:
        log = PostgresAuditLog(dsn, writer=name)
        await log.open()
        # 20 requests in flight at once per writer, batches of 1-3 decisions
        await asyncio.gather(*(
            log.append_async(decisions(1 + i % 3, 1000 * int(name[-1]) + 10 * i))
            for i in range(60)
        ))  # fmt: skip
        await log.aclose()

    async def both() -> None:
        await asyncio.gather(gateway("gw-1"), gateway("gw-2"))

    asyncio.run(both())
    records = list(read_records_pg(dsn))
    expected = 2 * sum(1 + i % 3 for i in range(60))
    ids = [r["request_id"] for r in records]
    assert len(records) == expected and len(set(ids)) == expected
    result = verify(records)
    assert result.ok, result.problems
    assert {w: h.seq for w, h in result.chains.items()} == {
        "gw-1": expected // 2,
        "gw-2": expected // 2,
    }


def test_a_dropped_connection_is_reconnected_and_the_head_reread(postgres: PostgresServer) -> None:
    dsn = postgres.new_database()

    async def scenario() -> None:
        log = PostgresAuditLog(dsn, writer="gw")
        await log.open()
        await log.append_async(decisions(2))
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(AuditWriteError, match="audit database"):
            await log.append_async(decisions(1, 2))  # the server closed it: refused, not lost
        await log.append_async(decisions(1, 3))  # reconnected; continues from the table's head
        await log.aclose()

    asyncio.run(scenario())
    records = list(read_records_pg(dsn))
    assert [(r["request_id"], r["seq"]) for r in records] == [("r0", 1), ("r1", 2), ("r3", 3)]
    assert verify(records).ok


def test_an_unreachable_database_is_a_write_error() -> None:
    from tests.stack import free_port

    async def scenario() -> None:
        log = PostgresAuditLog(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout_s=2)
        with pytest.raises(AuditWriteError, match="audit database"):
            await log.append_async(decisions(1))

    asyncio.run(scenario())

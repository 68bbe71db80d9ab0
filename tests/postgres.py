"""A real PostgreSQL server for the audit tests: initdb in a temporary folder, started with
pg_ctl on a free localhost port, stopped (and its folder removed) at the end.

Debian's ``postgresql`` package provides the binaries (``make postgres`` installs it; CI's
``make test`` runs that). PostgreSQL refuses to run as root, so under root the server runs as
the package's ``postgres`` user. ``make test`` sets HRSTACK_REQUIRE_POSTGRES=1: there a missing
server is a failure, not a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.stack import free_port


def _bindir() -> Path | None:
    if found := shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its DSN. Tests never share a table."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _bindir()
    if bindir is None:
        message = "PostgreSQL is not installed: run `make postgres` (Debian's postgresql)"
        if os.environ.get("HRSTACK_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="hrstack-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()

    def run(*cmd: str) -> None:
        argv = _as_server_user([str(bindir / cmd[0]), *cmd[1:]])
        subprocess.run(argv, check=True, capture_output=True)

    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    try:
        run("initdb", "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=on -c max_connections=50"
        run("pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w",
            "start")  # fmt: skip
        try:
            yield PostgresServer("127.0.0.1", port, user)
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)

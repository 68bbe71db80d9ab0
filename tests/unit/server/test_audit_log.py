"""The audit log: one durable line per answered decision, no torn lines, rotation loses none."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hrstack.server.audit import log as audit_log
from hrstack.server.audit.log import AuditLog, AuditWriteError, read_records, rotated_files
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine


def test_append_writes_whole_lines_and_reads_back(tmp_path: Path):
    log = AuditLog(tmp_path / "rank.jsonl")
    log.append([{"n": 1}, {"n": 2, "text": "naïve\nline"}])
    log.close()
    raw = (tmp_path / "rank.jsonl").read_bytes()
    assert raw.count(b"\n") == 2 and raw.endswith(b"\n")
    assert [r["n"] for r in read_records(tmp_path / "rank.jsonl")] == [1, 2]
    assert oct((tmp_path / "rank.jsonl").stat().st_mode)[-3:] == "600"


def test_a_torn_tail_is_moved_aside_on_open(tmp_path: Path):
    path = tmp_path / "rank.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n{"n":3,"reas')
    assert [r["n"] for r in read_records(path)] == [1, 2], "readers skip an unterminated line"
    log = AuditLog(path)
    log.append([{"n": 4}])
    log.close()
    assert [r["n"] for r in read_records(path)] == [1, 2, 4]
    assert path.with_name("rank.jsonl.torn").read_bytes() == b'{"n":3,"reas\n'


def test_a_failed_write_leaves_no_fragment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    log = AuditLog(tmp_path / "rank.jsonl")
    log.append([{"n": 1}])
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        monkeypatch.setattr(audit_log.os, "write", disk_full)
        return real_write(fd, bytes(data)[:5])

    def disk_full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(audit_log.os, "write", half_then_full)
    with pytest.raises(AuditWriteError):
        log.append([{"n": 2}])
    monkeypatch.setattr(audit_log.os, "write", real_write)
    log.append([{"n": 3}])
    log.close()
    assert [r["n"] for r in read_records(tmp_path / "rank.jsonl")] == [1, 3]


def test_rotation_under_concurrent_writers_loses_nothing(tmp_path: Path):
    path = tmp_path / "rank.jsonl"
    log = AuditLog(path, max_bytes=4096)

    def writer(worker: int) -> None:
        for n in range(200):
            log.append([{"worker": worker, "n": n, "pad": "x" * 40}])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    records = list(read_records(path))
    assert len(rotated_files(path)) > 5
    assert sorted((r["worker"], r["n"]) for r in records) == [
        (w, n) for w in range(4) for n in range(200)
    ]
    for worker in range(4):  # each writer's lines stay in its order across files
        assert [r["n"] for r in records if r["worker"] == worker] == list(range(200))


WRITER = """
import sys
from pathlib import Path
from hrstack.server.audit.log import AuditLog
log = AuditLog(Path(sys.argv[1]), max_bytes=20_000)
print("ready", flush=True)
n = 0
while True:
    log.append([{"n": n, "pad": "y" * 200}])
    n += 1
"""


def test_a_killed_writer_leaves_only_whole_lines(tmp_path: Path):
    """SIGKILL a process in the middle of a stream of appends and rotations, then reopen."""
    path = tmp_path / "rank.jsonl"
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=root
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    AuditLog(path).close()  # a restart repairs whatever the kill left
    numbers = [r["n"] for r in read_records(path)]
    assert numbers == list(range(len(numbers))) and len(numbers) > 10


def test_every_answered_rank_is_one_line_before_the_response(make_client, tmp_path: Path):
    engine = FakeEngine(lambda payload: A.RANK_OK)
    client = make_client(engine)
    body = {
        "job_description": A.JD_TEXT,
        "candidates": [{"id": "a", "resume": A.RESUME_TEXT}, {"id": "b", "resume": A.RESUME_TEXT}],
    }
    response = client.post("/v1/rank", json=body, headers={"X-Request-ID": "req-1"})
    assert response.status_code == 200
    records = list(read_records(tmp_path / "audit" / "rank.jsonl"))
    assert {r["candidate_id"] for r in records} == {"a", "b"}
    record = records[0]
    # The model said shortlist; the posting's must-haves Airflow and Spark are not in the resume,
    # so the guard overrides it: the log holds the answer the client got, and why it differs.
    answered = response.json()["results"][0]
    assert record["request_id"] == "req-1" and record["decision"] == answered["decision"]
    assert record["decision"] == "reject" and record["overrides"], record
    assert record["overrides"] == answered["overrides"]
    assert record["input_hash"].startswith("sha256:") and len(record["prompt_version"]) == 12
    assert set(record) >= {"time", "model", "score", "reasons", "flags", "validation", "attempts"}
    assert A.RESUME_TEXT not in json.dumps(records), "no resume text in the log"
    assert "hrstack_audit_records_total 2.0" in client.get("/metrics").text


def test_strict_refusal_is_not_logged(make_client, tmp_path: Path):
    client = make_client(FakeEngine([A.RANK_BROKEN] * 3))
    body = {"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT}
    assert client.post("/v1/rank?strict=true", json=body).status_code == 422
    assert list(read_records(tmp_path / "audit" / "rank.jsonl")) == []


def test_a_decision_that_cannot_be_logged_is_not_answered(make_client, monkeypatch):
    def broken(self: AuditLog, records: object) -> None:
        raise AuditWriteError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(AuditLog, "append", broken)
    client = make_client(FakeEngine([A.RANK_OK]))
    body = {"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT}
    response = client.post("/v1/rank", json=body)
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert "shortlist" not in response.text

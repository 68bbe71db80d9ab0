"""The audit trail's tamper evidence: every record carries the SHA-256 of the one before it.

Each writer (a gateway's file, or one gateway process on the shared database) keeps its own
chain: ``writer``, a gap-free ``seq`` from 1, ``prev_hash`` (the previous record's ``hash``,
:data:`GENESIS` for the first) and ``hash`` (SHA-256 over the record's canonical JSON without
``hash``). Per writer rather than one global chain so replicas never wait on each other's
writes; :func:`verify` checks every chain and names the record where one breaks:

* an edited field changes the record's own hash (``edited``), or, if the editor recomputed
  that, the next record's ``prev_hash`` no longer matches (``broken_link``);
* a deleted record leaves a gap in ``seq`` (``missing``);
* a reordered record shows a ``seq`` lower than one already seen (``out_of_order``; the gap
  it left is not reported again as ``missing``).

A chain's last records can be cut off without a trace inside the log itself; ``hrstack audit
verify`` prints each chain's head (seq and hash) so an auditor who keeps them can tell later.
"""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: 1: the unchained records of earlier versions; 2: caller, writer, seq, prev_hash, hash.
SCHEMA_VERSION = 2
GENESIS = "sha256:" + "0" * 64
CHAIN_FIELDS = ("schema_version", "writer", "seq", "prev_hash", "hash")


def canonical(record: Mapping[str, Any]) -> bytes:
    """The one serialization that is hashed and stored: sorted keys, no spaces, UTF-8."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def new_writer_id() -> str:
    """Unique per writer and readable in a log: the host, then random hex."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class Chain:
    """One writer's position: seal a batch, write it, and only then ``advance``, so a write
    that failed leaves the chain where it was."""

    def __init__(self, writer: str, seq: int = 0, head: str = GENESIS) -> None:
        self.writer = writer
        self.seq = seq
        self.head = head

    @classmethod
    def resume(cls, last: Mapping[str, Any] | None, writer: str | None = None) -> Chain:
        """Continue after ``last`` (the newest stored record) if it is chained, else start."""
        if last is not None and last.get("schema_version", 1) >= 2:
            return cls(str(last["writer"]), int(last["seq"]), str(last["hash"]))
        return cls(writer or new_writer_id())

    def seal(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        sealed: list[dict[str, Any]] = []
        seq, head = self.seq, self.head
        for record in records:
            seq += 1
            body = {**record, "schema_version": SCHEMA_VERSION, "writer": self.writer,
                    "seq": seq, "prev_hash": head}  # fmt: skip
            body["hash"] = head = record_hash(body)
            sealed.append(body)
        return sealed

    def advance(self, sealed: Sequence[Mapping[str, Any]]) -> None:
        if sealed:
            self.seq, self.head = int(sealed[-1]["seq"]), str(sealed[-1]["hash"])


@dataclass(frozen=True)
class Problem:
    position: int  # 1-based, in storage order
    writer: str
    seq: int | None
    kind: str  # edited, broken_link, missing, out_of_order, malformed
    detail: str


@dataclass
class ChainHead:
    records: int = 0
    seq: int = 0
    hash: str = GENESIS


@dataclass
class Verification:
    records: int = 0
    unchained: int = 0  # schema 1 records, written before the chain existed
    chains: dict[str, ChainHead] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(records: Iterable[Mapping[str, Any]]) -> Verification:
    """Check every writer's chain in storage order; every break is named, none stops the scan."""
    result = Verification()
    gaps: list[tuple[Problem, range]] = []
    for position, record in enumerate(records, start=1):
        result.records += 1
        if record.get("schema_version", 1) < 2:
            result.unchained += 1
            continue
        writer = str(record.get("writer", "?"))
        head = result.chains.setdefault(writer, ChainHead())
        found = _check(record, head)
        if found is not None:
            kind, seq, detail = found
            result.problems.append(Problem(position, writer, seq, kind, detail))
            if kind == "missing" and seq is not None:
                gaps.append((result.problems[-1], range(head.seq + 1, seq)))
        head.records += 1
        seq = record.get("seq")
        if isinstance(seq, int) and seq > head.seq:  # a record out of order moves nothing
            head.seq, head.hash = seq, str(record.get("hash"))
    # A gap whose records all turn up later was a reordering, not a deletion: the later
    # out_of_order problems name it, so the gap is not reported twice.
    late = {(p.writer, p.seq) for p in result.problems if p.kind == "out_of_order"}
    for problem, gap in gaps:
        if all((problem.writer, seq) in late for seq in gap):
            result.problems.remove(problem)
    return result


def _check(record: Mapping[str, Any], head: ChainHead) -> tuple[str, int | None, str] | None:
    seq = record.get("seq")
    if not isinstance(seq, int) or not all(k in record for k in CHAIN_FIELDS):
        missing = [k for k in CHAIN_FIELDS if k not in record]
        return "malformed", None, f"chain fields missing or wrong: {missing or ['seq']}"
    who = f"seq {seq} (request {record.get('request_id')})"
    if record_hash(record) != record.get("hash"):
        return "edited", seq, f"{who}: its content does not match its hash"
    if seq <= head.seq:
        return "out_of_order", seq, f"{who} comes after seq {head.seq}"
    if seq > head.seq + 1:
        gap = f"{head.seq + 1}" if seq == head.seq + 2 else f"{head.seq + 1}..{seq - 1}"
        return "missing", seq, f"seq {gap} missing before {who}"
    if record.get("prev_hash") != head.hash:
        return "broken_link", seq, f"{who}: prev_hash does not match seq {head.seq}'s hash"
    return None

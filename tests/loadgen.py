"""A bounded load generator for the gateway: closed-loop workers, every shot accounted for.

Each worker sends one request at a time with its own X-Request-ID, records the status (or the
transport error: there must be none) and the latency, and honours Retry-After on 429/503 the
way a well-behaved client does (a client that ignores it only spins on 429s, and on two shared
cores its spinning would be measured as the gateway's latency). ``summarise`` turns the shots
into the figures the load test checks and reports.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Shot:
    request_id: str
    status: int | None  # None: no HTTP answer at all (a lost request)
    code: str | None  # the error code of a non-200 answer
    latency_s: float
    error: str | None = None
    retry_after_s: float = 0.0
    started: float = 0.0  # time.monotonic() when it was sent


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _shoot(client: httpx.AsyncClient, path: str, body: dict[str, Any], rid: str) -> Shot:
    sent_at, started = time.monotonic(), time.perf_counter()
    try:
        response = await client.post(path, json=body, headers={"X-Request-ID": rid})
    except httpx.HTTPError as exc:
        return Shot(rid, None, None, time.perf_counter() - started, repr(exc), started=sent_at)
    latency = time.perf_counter() - started
    code = None
    if response.status_code != 200:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "unparseable"
    retry_after = float(response.headers.get("Retry-After", 0) or 0)
    return Shot(
        rid, response.status_code, code, latency, retry_after_s=retry_after, started=sent_at
    )


#: ``request(request_id, n) -> (path, body)``: the n-th request a worker sends.
RequestFactory = Callable[[str, int], tuple[str, dict[str, Any]]]


async def run_load(
    client: httpx.AsyncClient,
    request: RequestFactory,
    *,
    workers: int,
    duration_s: float,
    prefix: str,
    stop_on_error: bool = False,
    on_shot: Callable[[Shot], None] = lambda shot: None,
    done: Callable[[], bool] = lambda: False,
) -> list[Shot]:
    """``workers`` closed loops for ``duration_s``; worker i sends requests i, i + workers, ...
    With ``stop_on_error`` a worker stops at its first transport error (a gateway killed on
    purpose) instead of spinning on refused connections. ``on_shot`` sees each shot as it
    lands; ``done`` ends the run early (a caller that needs enough answers, not a fixed time,
    passes a long ``duration_s`` as the bound)."""
    shots: list[Shot] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration_s

    async def worker(index: int) -> None:
        n = index
        while loop.time() < deadline and not done():
            rid = f"{prefix}-{n}"
            shot = await _shoot(client, *request(rid, n), rid)
            shots.append(shot)
            on_shot(shot)
            if shot.status is None and stop_on_error:
                return
            n += workers
            if shot.retry_after_s:
                await asyncio.sleep(shot.retry_after_s)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return shots


async def run_count(
    clients: Sequence[httpx.AsyncClient],
    request: RequestFactory,
    *,
    count: int,
    workers: int,
    prefix: str,
    on_shot: Callable[[Shot], None] = lambda shot: None,
) -> list[Shot]:
    """Requests 0 .. ``count`` - 1 by ``workers`` closed loops, request n to
    ``clients[n % len(clients)]`` (one client per gateway spreads the load evenly); ``on_shot``
    sees each shot as it lands. A refusal is recorded, not sent again: the shots are what the
    client saw."""
    shots: list[Shot] = []
    numbers = iter(range(count))  # shared: each worker takes the next number not yet sent

    async def worker() -> None:
        for n in numbers:
            rid = f"{prefix}-{n}"
            shot = await _shoot(clients[n % len(clients)], *request(rid, n), rid)
            shots.append(shot)
            on_shot(shot)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return shots


async def sequential(
    client: httpx.AsyncClient, request: RequestFactory, *, count: int, prefix: str
) -> list[Shot]:
    """``count`` requests one after another: the unloaded reference."""
    return [await _shoot(client, *request(f"{prefix}-{n}", n), f"{prefix}-{n}")
            for n in range(count)]  # fmt: skip


def summarise(shots: list[Shot]) -> dict[str, Any]:
    ok = [s.latency_s for s in shots if s.status == 200]
    return {
        "sent": len(shots),
        "by_status": dict(Counter(str(s.status) for s in shots)),
        "by_code": dict(Counter(s.code for s in shots if s.code)),
        "lost": sum(s.status is None for s in shots),
        "admitted_ok": len(ok),
        "p50_s": round(percentile(ok, 50), 3),
        "p99_s": round(percentile(ok, 99), 3),
        "max_s": round(max(ok, default=float("nan")), 3),
    }

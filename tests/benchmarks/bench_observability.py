"""What request-scoped JSON logs and OpenTelemetry tracing cost per request, on vs off, one run.

    make bench        # writes bench-results/observability.{md,json}

Two gateways in front of the instant upstream (a test double that answers at once, so the
gateway's own work is all that is timed): one with logging and tracing off (text logs at
WARNING, no per-request line; no OTLP endpoint), one with both on (LOG_FORMAT=json at INFO, the
access and attempt lines; OTLP_ENDPOINT at the stub, which accepts and drops the spans, so the
exporter really serializes and sends them). The same resume-guidance request goes to each
in turn at concurrency 1; more gateways split the two (JSON logs only, tracing only) and show
what head sampling saves (both on with every request traced, against the default 10%). Each
variant runs as several gateway processes (--replicas), averaged, so no variant's figure is one
process's luck in its placement on the cores.
Target: on minus off <= 0.2 ms at p50.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks.bench_gateway import instant_upstream, machine
from tests.stack import free_port, start_gateway, stop_process, wait_http

TARGET_MS = 0.2
BODY = {"resume": "Jane Roe. Data analyst, 4 years of SQL and Tableau at Northwind Traders."}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (the log writer and the span
    exporter work off the request path but on the same cores)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(urls: dict[str, list[str]], rounds: int, pids: dict[str, list[int]]) -> dict[str, Any]:
    """Each round sends the request once to every gateway, in a rotated order; a variant's time
    in a round is the mean over its replicas, and its cost the median over rounds of (its time -
    the 'off' variant's time in the same round), so drift on the shared cores cancels. Beside
    it, CPU time per request (all of a variant's processes): steadier than latency, which one
    process's placement on the cores shifts by a few tenths of a millisecond either way; the
    replicas average that placement out."""
    names = list(urls)
    targets = [(name, url) for name in names for url in urls[name]]
    times: dict[str, list[float]] = {name: [] for name in names}
    with httpx.Client(timeout=30) as http:
        for _, url in targets:  # warm-up: imports, first spans, connection pools
            for _ in range(30):
                http.post(f"{url}/v1/resume-guidance?max_attempts=1", json=BODY)
        cpu_before = {name: sum(map(cpu_seconds, pids[name])) for name in names}
        for n in range(rounds):
            spent: dict[str, float] = dict.fromkeys(names, 0.0)
            shift = n % len(targets)
            for name, url in targets[shift:] + targets[:shift]:
                started = time.perf_counter()
                response = http.post(f"{url}/v1/resume-guidance?max_attempts=1", json=BODY)
                spent[name] += time.perf_counter() - started
                assert response.status_code == 200, response.text
            for name in names:
                times[name].append(spent[name] / len(urls[name]))
        time.sleep(1)  # the log writer and the exporter finish the last requests' work
        cpu = {
            name: (sum(map(cpu_seconds, pids[name])) - cpu_before[name])
            / (rounds * len(pids[name]))
            for name in names
        }
    off = times["off"]
    return {
        name: {
            "p50_ms": 1000 * statistics.median(times[name]),
            "added_p50_ms": 1000
            * statistics.median(t - o for t, o in zip(times[name], off, strict=True)),
            "cpu_ms_per_request": 1000 * cpu[name],
            "added_cpu_ms": 1000 * (cpu[name] - cpu["off"]),
        }
        for name in names
    }


def measure_gateways(stub_url: str, work: Path, rounds: int, replicas: int) -> dict[str, Any]:
    common = {"SELF_CHECK": "false", "MAX_IN_FLIGHT": "64",
              "AUDIT_LOG_PATH": str(work / "audit.jsonl")}  # fmt: skip
    quiet = {"LOG_FORMAT": "text", "LOG_LEVEL": "warning"}
    json_logs = {"LOG_FORMAT": "json", "LOG_LEVEL": "info"}
    traced = {"OTLP_ENDPOINT": stub_url}
    configs = {
        "off": {**common, **quiet},
        "json logs": {**common, **json_logs},
        "tracing": {**common, **quiet, **traced},
        "on": {**common, **json_logs, **traced},
        # What recording and exporting every request costs (TRACE_SAMPLE_RATIO's default: 10%).
        "on, every request traced": {**common, **json_logs, **traced, "TRACE_SAMPLE_RATIO": "1"},
    }  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, list[str]] = {name: [] for name in configs}
    pids: dict[str, list[int]] = {name: [] for name in configs}
    try:
        for copy in range(replicas):  # started interleaved, so no variant gets the late slots
            for name, env in configs.items():
                port, log = free_port(), work / f"gateway-{name}-{copy}.log"
                proc = start_gateway(stub_url, port, log, env)
                procs.append(proc)
                wait_http(f"http://127.0.0.1:{port}/readyz", proc, log, 120)
                urls[name].append(f"http://127.0.0.1:{port}")
                pids[name].append(proc.pid)
        return measure(urls, rounds, pids)
    finally:
        for proc in procs:
            stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400, help="requests per configuration")
    parser.add_argument("--replicas", type=int, default=3, help="gateway processes per variant")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hrstack-obs-"))
    with instant_upstream(work) as stub_url:
        rows = measure_gateways(stub_url, work, args.rounds, args.replicas)
    on_log = (work / "gateway-on-0.log").read_text()
    added = rows["on"]["added_p50_ms"]
    result = {
        "rounds": args.rounds,
        "replicas": args.replicas,
        "variants": rows,
        "added_p50_ms": added,
        "target_ms": TARGET_MS,
        "machine": machine(),
        "json_lines_logged": sum(line.startswith("{") for line in on_log.splitlines()),
    }
    verdict = "met" if added <= TARGET_MS else "MISSED"
    table = "\n".join([
        "## Logging and tracing cost (instant upstream, concurrency 1, rotated rounds)", "",
        f"{args.rounds} rounds, {args.replicas} gateway processes per variant; added = median "
        "over rounds of (variant - off) in the same round.",
        "", "| variant | p50 ms | added p50 ms | gateway CPU ms / request | added CPU ms |",
        "|---|---|---|---|---|",
        *(f"| {name} | {row['p50_ms']:.2f} | {row['added_p50_ms']:+.3f} "
          f"| {row['cpu_ms_per_request']:.2f} | {row['added_cpu_ms']:+.3f} |"
          for name, row in rows.items()),
        "", f"Both on: {added:+.3f} ms, target <= {TARGET_MS} ms: {verdict}. JSON lines written "
        f"by the 'on' gateway: {result['json_lines_logged']}.", "",
    ])  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "observability.json").write_text(json.dumps(result, indent=2))
    (args.out / "observability.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

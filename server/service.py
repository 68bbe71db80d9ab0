"""Screen -> seed -> generate -> validate -> retry, for any row of the domain table. No FastAPI.

Request text is screened first (server.untrusted: invisible characters stripped, injection
phrasing flagged and neutralized); for rank, the candidate is then redacted (server.redaction),
and the validator judges the answer against exactly the text the model read. The loop keeps the
best attempt seen (fewest failed checks, later wins ties) so a client that opts out of strict
mode still gets the most useful answer, labelled with its true report: an invalid answer is
never reported as valid.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from server import untrusted
from server.domains import DomainTable
from server.engine import EngineClient
from server.metrics import Metrics
from server.prompts import assemble_answer, build_payload, prompt_version
from server.redaction import Redacted, Redactor
from validators import ValidationResult, ValidatorRules, validate

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
    ) -> None:
        self.engine = engine
        self.domains = domains
        self.rules = rules
        self.metrics = metrics
        self.model = model
        self.neutralize_injection = neutralize_injection
        self.redactor = redactor
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
        request holds). One failure cancels the rest: the client gets one clean error, and no
        engine work continues for an answer nobody will read."""
        slots = asyncio.Semaphore(concurrency)

        async def one(resume: str) -> RankOutcome:
            fields, flags = self._screen({"job_description": job_description, "candidate": resume})
            redacted = None
            if self.redactor is not None and self.redactor.enabled:
                redacted = self.redactor.redact(fields["candidate"] or "", job_description)
                fields["candidate"] = redacted.text
                for item in redacted.items:
                    self.metrics.redactions.labels(item.category).inc()
            async with slots:
                outcome = await self._generate(
                    "rank", fields, flags, max_attempts=max_attempts, seed=seed
                )
            return RankOutcome(outcome, redacted)

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

"""Screen -> seed -> generate -> validate -> retry, for any row of the domain table. No FastAPI.

Request text is screened first (tasks.untrusted: invisible characters stripped, injection
phrasing flagged and neutralized); for the two decisions (rank, match) the resume is then
redacted (tasks.redaction), evidence is read from both texts into the prompt
(validators.evidence), the validator judges the answer against exactly the text the model read,
and guards (validators.guards) overrule a verdict that puts forward a candidate missing a
must-have or that needs a person to verify.
The loop keeps the best attempt seen (fewest failed checks, later wins ties) so a client that
opts out of strict mode still gets the most useful answer, labelled with its true report: an
invalid answer is never reported as valid.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, cast

from opentelemetry import trace

from hrstack.server import logs, sizing, tracing
from hrstack.server.engine import Completion, EngineClient
from hrstack.server.metrics import Metrics
from hrstack.tasks import untrusted
from hrstack.tasks.domains import DomainTable
from hrstack.tasks.prompts import Repair, assemble_answer, build_payload, prompt_version
from hrstack.tasks.rank_input import RankInput, parsed_verdict, prepare_rank_input
from hrstack.tasks.redaction import Redacted, Redactor
from hrstack.validators import FORMAT_CHECKS, ValidationResult, ValidatorRules, validate
from hrstack.validators.evidence import Evidence
from hrstack.validators.evidence_rules import EvidenceRules, load_evidence_rules
from hrstack.validators.guards import (
    GuardResult,
    MatchGuardResult,
    Recommendation,
    apply_guards,
    apply_match_guards,
)
from hrstack.validators.job_resume_match import recommendation_word

log = logging.getLogger(__name__)

#: A repair turn's size beyond the failed answer: the checks' names and details, the template.
REPAIR_TURN_TOKENS = 200
#: What the start-up self-check asks for under each constraint: prose, not the format. Only an
#: enforced constraint turns it into an answer of the domain's shape.
SELF_CHECK_ASK = "Write a short poem about the sea. Do not use lists, headings, numbers or JSON."
#: The posting the ATS self-check builds its per-request grammar from.
SELF_CHECK_POSTING = (
    "Data Analyst. Requirements: SQL, Python and Tableau; experience with Snowflake or BigQuery; "
    "stakeholder reporting; A/B testing; data modeling with dbt. Nice to have: Looker, Airflow."
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt as the response reports it (``attempt_history``)."""

    attempt: int
    mode: Literal["first", "repair", "reseed"]
    constrained: bool
    failed: tuple[str, ...]
    details: dict[str, str]
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    result: ValidationResult
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    flags: tuple[untrusted.InputFlag, ...] = ()
    history: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class RankOutcome:
    outcome: Outcome
    redacted: Redacted | None
    evidence: Evidence
    guard: GuardResult


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    outcome: Outcome
    redacted: Redacted | None
    evidence: Evidence
    guard: MatchGuardResult


class _Edges:
    """Streamed pieces trimmed as ``assemble_answer`` trims the whole: the seed first, then the
    continuation without its leading blanks (all leading whitespace when there is no seed), and
    whitespace held back until more text follows it, so a trailing run is never sent."""

    def __init__(self, seed: str) -> None:
        self._leading = " \t" if seed else None  # None: strip all leading whitespace
        self._started = False
        self._held = ""
        self._first = self._take(seed) if seed else ""

    def _take(self, text: str) -> str:
        body = text.rstrip()
        if not body:
            self._held += text
            return ""
        out, self._held = self._held + body, text[len(body) :]
        return out

    def feed(self, piece: str) -> str:
        if not self._started:
            piece = piece.lstrip(self._leading)
            if not piece:
                return ""
            self._started = True
        out = self._take(piece)
        if self._first:
            out, self._first = self._first + out, ""
        return out

    def rest(self) -> str:
        """The seed, if no text ever followed it (the answer is then the seed alone)."""
        rest, self._first = self._first, ""
        return rest


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
        send_seeds: bool = True,
        input_overflow: sizing.Policy = "refuse",
        constrained: bool = True,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.engine = engine
        #: Spans per attempt and per validator run; the no-op tracer unless tracing is on.
        self.tracer = tracer or trace.NoOpTracer()
        self.domains = domains
        self.rules = rules
        self.metrics = metrics
        self.model = model
        self.neutralize_injection = neutralize_injection
        self.redactor = redactor
        self.evidence_rules = evidence_rules or load_evidence_rules()
        self.today = today
        self.send_seeds = send_seeds
        self.input_overflow: sizing.Policy = input_overflow
        self.constrained = constrained
        #: Per domain, for the audit log: which prompt and rules produced a decision.
        self.prompt_versions = {
            name: prompt_version(domains[name], rules) for name in domains.names()
        }

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
        params: Mapping[str, str] | None = None,
    ) -> Outcome:
        """The retry loop. The (screened) fields are the validator's context: ATS keywords are
        checked against the job description, rank reasons against the job and the candidate.
        First the prompt is sized against the model's context (server.sizing): what does not
        fit is refused, or cut, before any engine time is spent on it."""
        cfg = self.domains[domain]
        fitted = await self._fit(domain, fields, params)
        fields = fitted.fields
        flags = [*flags, *fitted.flags]
        context = {name: value for name, value in fields.items() if value}
        budget = min(cfg.max_attempts, max_attempts or cfg.max_attempts)
        base_seed = random.randrange(2**31) if seed is None else seed
        best: Outcome | None = None
        history: list[Attempt] = []
        repair: Repair | None = None
        prompt_tokens = completion_tokens = 0
        for attempt in range(1, budget + 1):
            mode: Literal["first", "repair", "reseed"] = "first" if attempt == 1 else "reseed"
            if repair is not None:
                # The failed answer and the checks go into the prompt: only where they fit.
                needed = history[-1].completion_tokens + REPAIR_TURN_TOKENS
                mode = "repair" if fitted.room is None or needed <= fitted.room else "reseed"
            payload = build_payload(
                cfg,
                fields,
                model=self.model,
                seed=base_seed + attempt - 1 if self.send_seeds else None,
                rules=self.rules,
                constrained=self.constrained,
                repair=repair if mode == "repair" else None,
            )
            logs.attempt.set(attempt)
            with tracing.child_span(self.tracer, "hrstack.attempt") as span:
                span.set_attribute("hrstack.domain", domain)
                span.set_attribute("hrstack.attempt", attempt)
                span.set_attribute("hrstack.mode", mode)
                completion = await self.engine.chat(payload)
                prompt_tokens += completion.prompt_tokens
                completion_tokens += completion.completion_tokens
                text, result, judged = self._judge(domain, completion, context, attempt, mode)
                span.set_attribute("hrstack.valid", result.ok)
                span.set_attribute("hrstack.failed_checks", list(result.failed))
            history.append(judged)
            if best is None or len(result.failed) <= len(best.result.failed):
                best = Outcome(text, result, attempt, 0, 0)
            log.info(
                "%s attempt %d/%d (%s) %s%s",
                domain, attempt, budget, mode, "valid" if result.ok else "failed: ",
                ",".join(result.failed),
                extra={"mode": mode, "failed": ",".join(result.failed) or None},
            )  # fmt: skip
            if result.ok:
                break
            if cfg.retry == "repair":
                repair = Repair(text, result)
        assert best is not None
        self._count(domain, prompt_tokens, completion_tokens, attempt)
        return Outcome(
            best.text,
            best.result,
            attempt,
            prompt_tokens,
            completion_tokens,
            tuple(flags),
            tuple(history),
        )

    def _judge(
        self,
        domain: str,
        completion: Completion,
        context: Mapping[str, str],
        attempt: int,
        mode: Literal["first", "repair", "reseed"],
    ) -> tuple[str, ValidationResult, Attempt]:
        """One attempt's answer, its validation (failed checks counted) and its report line."""
        cfg = self.domains[domain]
        text = assemble_answer(cfg, completion.text)
        with tracing.child_span(self.tracer, "hrstack.validate") as span:
            span.set_attribute("hrstack.validator", cfg.validator)
            result = validate(cfg.validator, text, self.rules, context)
            span.set_attribute("hrstack.failed_checks", list(result.failed))
        for name in result.failed:
            self.metrics.validation_failures.labels(domain, name).inc()
        report = Attempt(
            attempt,
            mode,
            self.constrained and cfg.constraint != "none",
            tuple(result.failed),
            {c.name: c.detail for c in result.checks if not c.ok},
            completion.completion_tokens,
        )
        return text, result, report

    def _count(self, domain: str, prompt: int, completion: int, attempts: int) -> None:
        self.metrics.tokens.labels(domain, "prompt").inc(prompt)
        self.metrics.tokens.labels(domain, "completion").inc(completion)
        self.metrics.attempts.labels(domain).observe(attempts)

    async def _fit(
        self, domain: str, fields: Mapping[str, str | None], params: Mapping[str, str] | None
    ) -> sizing.Fitted:
        cfg = self.domains[domain]
        return await sizing.fit(
            self.engine,
            lambda current: build_payload(
                cfg, current, model=self.model, seed=None, rules=self.rules
            ),
            fields,
            model=self.model,
            domain=domain,
            answer_tokens=cfg.sampling.max_tokens,
            policy=self.input_overflow,
            params=params,
        )

    async def stream(
        self, domain: str, fields: Mapping[str, str | None], *, seed: int | None = None
    ) -> AsyncGenerator[str | Outcome, None]:
        """One attempt, streamed: the answer's text in pieces as the engine writes them, then
        its Outcome (validated like any other). The pieces joined are exactly the answer
        (the seed first, the edges trimmed as ``assemble_answer`` trims them). There is no
        retry: the client has read the first answer by the time it is judged."""
        screened, flags = self._screen(fields)
        cfg = self.domains[domain]
        fitted = await self._fit(domain, screened, None)
        context = {name: value for name, value in fitted.fields.items() if value}
        payload = build_payload(
            cfg,
            fitted.fields,
            model=self.model,
            seed=(random.randrange(2**31) if seed is None else seed) if self.send_seeds else None,
            rules=self.rules,
            constrained=self.constrained,
        )
        edges = _Edges(cfg.seed or "")
        completion: Completion | None = None
        async for piece in self.engine.chat_stream(payload):
            if isinstance(piece, Completion):
                completion = piece
            elif text := edges.feed(piece):
                yield text
        if rest := edges.rest():
            yield rest
        assert completion is not None, "an engine stream ends with its Completion"
        text, result, attempt = self._judge(domain, completion, context, 1, "first")
        self._count(domain, completion.prompt_tokens, completion.completion_tokens, 1)
        yield Outcome(
            text, result, 1, completion.prompt_tokens, completion.completion_tokens,
            (*flags, *fitted.flags), (attempt,),
        )  # fmt: skip

    async def rank(
        self,
        job_description: str,
        resumes: list[str],
        *,
        concurrency: int,
        max_attempts: int | None = None,
        seed: int | None = None,
        candidate_params: list[str] | None = None,
    ) -> list[RankOutcome]:
        """Rank each resume against the job, ``concurrency`` at a time (the admission slots the
        request holds); evidence goes into each prompt and guards judge each answer. One failure
        cancels the rest: the client gets one clean error, and no engine work continues for an
        answer nobody will read. ``candidate_params`` names each resume as the request does
        (``candidates[2].resume``), for errors about one candidate's input."""
        slots = asyncio.Semaphore(concurrency)
        names = candidate_params or ["candidate"] * len(resumes)

        async def one(resume: str, param: str) -> RankOutcome:
            prepared = self._prepare_decision("rank", job_description, resume, "candidate")
            async with slots:
                outcome = await self._generate(
                    "rank",
                    prepared.fields,
                    prepared.flags,
                    max_attempts=max_attempts,
                    seed=seed,
                    params={"candidate": param},
                )
            decision, score, _ = parsed_verdict(outcome.result.parsed)
            guard = apply_guards(prepared.evidence, decision, score, self.evidence_rules.guards)
            return RankOutcome(outcome, prepared.redacted, prepared.evidence, guard)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(one(resume, param))
                    for resume, param in zip(resumes, names, strict=True)
                ]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    def _prepare_decision(
        self, domain: str, job_description: str, resume: str, resume_field: str
    ) -> RankInput:
        """Screen, redact and read evidence for a decision prompt (one path for rank and
        match, shared with training), counting what was flagged and redacted."""
        prepared = prepare_rank_input(
            job_description,
            resume,
            neutralize=self.neutralize_injection,
            redactor=self.redactor,
            evidence_rules=self.evidence_rules,
            today=self.today(),
            tags=frozenset(self.domains[domain].fields),
            resume_field=resume_field,
        )
        for flag in prepared.flags:
            self.metrics.input_flags.labels(flag.kind).inc()
        for item in prepared.redacted.items if prepared.redacted else ():
            self.metrics.redactions.labels(item.category).inc()
        return prepared

    async def match(
        self,
        job_description: str,
        resume: str,
        *,
        max_attempts: int | None = None,
        seed: int | None = None,
    ) -> MatchOutcome:
        """A match is a screening decision: rank's path (redacted resume, evidence in the
        prompt, guards on the answer), on match's scale and recommendation."""
        domain = "job_resume_match"
        prepared = self._prepare_decision(domain, job_description, resume, "resume")
        outcome = await self._generate(
            domain, prepared.fields, prepared.flags, max_attempts=max_attempts, seed=seed
        )
        parsed = outcome.result.parsed
        score = parsed.get("score")
        word = recommendation_word(parsed.get("recommendation"))
        guard = apply_match_guards(
            prepared.evidence,
            cast(Recommendation | None, word),
            score if isinstance(score, int) and 0 <= score <= 100 else None,
            self.evidence_rules.guards,
        )
        return MatchOutcome(outcome, prepared.redacted, prepared.evidence, guard)

    async def self_check(self) -> SelfCheck:
        """Prove the engine enforces every domain's constraint: ask for prose under each one
        (concurrently) and require the checks the constraint guarantees (FORMAT_CHECKS) to
        pass anyway. An engine that ignored ``structured_outputs`` or ``response_format``
        answers prose, and /readyz stays 503 with the domain and check named."""
        started = time.perf_counter()
        if not self.constrained:
            return SelfCheck(True, "constrained decoding is off (CONSTRAINED_DECODING=false)")
        names = [n for n in self.domains.names() if self.domains[n].constraint != "none"]
        results = await asyncio.gather(*(self._check_constraint(n) for n in names))
        took = time.perf_counter() - started
        broken = [detail for detail in results if detail]
        if broken:
            return SelfCheck(False, "constraints NOT enforced by the engine: " + "; ".join(broken))
        listed = ", ".join(names)
        return SelfCheck(True, f"constraints enforced for {listed} (checked in {took:.1f}s)")

    async def _check_constraint(self, domain: str) -> str:
        """'' when ``domain``'s constraint held on a prose request, else what broke."""
        cfg = self.domains[domain]
        fields = {"job_description": SELF_CHECK_POSTING}
        payload = build_payload(
            cfg, fields, model=self.model, seed=0 if self.send_seeds else None, rules=self.rules
        )
        prefix = [payload["messages"][-1]] if cfg.sent_prefix else []
        payload["messages"] = [{"role": "user", "content": SELF_CHECK_ASK}, *prefix]
        completion = await self.engine.chat(payload)
        text = assemble_answer(cfg, completion.text)
        result = validate(cfg.validator, text, self.rules, fields)
        guaranteed = FORMAT_CHECKS[cfg.validator]
        broken = [c for c in result.checks if c.name in guaranteed and not c.ok]
        return "; ".join(f"{domain}.{c.name}: {c.detail}" for c in broken)

"""The TrainerCallback that evaluates each checkpoint by generation and gates its save.

How the veto really prevents a save (transformers 5.x ``Trainer._maybe_log_save_evaluate``):
``DefaultFlowCallback.on_step_end`` sets ``should_evaluate`` and ``should_save`` on the same
steps (eval_steps == save_steps, and both at the last step); ``evaluate()`` then calls
``on_evaluate`` — here — and only afterwards does the trainer read ``control.should_save``. So
setting it to False here skips ``_save_checkpoint`` entirely: no directory, no optimizer state.

What would break the veto, and is therefore refused by ``training.sft.training_args``:
``save_strategy="best"`` makes the trainer overwrite ``should_save`` with "is this a new best
metric" *after* on_evaluate; ``metric_for_best_model`` / ``load_best_model_at_end`` make it
record ``best_model_checkpoint`` for a step whose directory the gate may never let exist; and
``save_total_limit`` rotation deletes the oldest checkpoints, which may be the only ones the
gate let through. Selection is ours (training.select), not the trainer's.

Data parallel (training.distributed): the check, the decision, its log line and the samples are
the main process's alone; the decision is broadcast, so every rank sets the same
``should_save`` and the Trainer's save (which synchronises the ranks) runs on all or on none.

Resume: the rolling window is rebuilt from the JSONL decisions up to the resumed step, and the
decisions of the crashed run after that step move to ``gating.superseded.jsonl``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from hrstack.training import distributed
from hrstack.training.gating import DECISION_FILE, Check, Gate, GateDecision, GateLog
from hrstack.training.generation import Judge, Judged, pass_rates
from hrstack.training.sampling import EvalSampler

log = logging.getLogger(__name__)


class DomainEvalCallback(TrainerCallback):
    def __init__(
        self,
        judge: Judge,
        sampler: EvalSampler,
        gate: Gate,
        gate_log: GateLog,
        *,
        backend: str,
        samples_dir: Path,
    ) -> None:
        self.judge = judge
        self.sampler = sampler
        self.gate = gate
        self.gate_log = gate_log
        self.backend = backend
        self.samples_dir = samples_dir
        self.last: GateDecision | None = None

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if not distributed.is_main():
            return
        kept = self.gate_log.truncate_after(state.global_step)
        self.gate.restore(kept)
        if state.global_step:
            log.info("resumed at step %d; gate window: %s", state.global_step, self.gate.history)

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        model: Any = None,
        **kwargs: Any,
    ) -> TrainerControl:
        if not control.should_save or model is None:
            return control  # not a save step (e.g. a manual evaluate() call): nothing to gate
        decision = None
        if distributed.is_main():
            with distributed.all_cores():
                decision = self._check(state, model, metrics)
        decision = distributed.share(decision)
        assert decision is not None  # the main process always decides
        self.last = decision
        control.should_save = decision.allowed
        return control

    def _check(
        self, state: TrainerState, model: Any, metrics: dict[str, float] | None
    ) -> GateDecision:
        step = state.global_step
        mode, prompts, notes = self.sampler.sample(step)
        judged = self.judge.run(model, prompts, desc=f"domain check @ step {step}")
        self._keep_samples(step, judged)
        loss = (metrics or {}).get("eval_loss")
        decision = self.gate.decide(Check(step, mode, pass_rates(judged), loss))
        decision.extra.update(backend=self.backend, notes=notes, train_loss=_last_train_loss(state))
        self.gate_log.append(decision)
        _log_decision(decision)
        return decision

    def on_save(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        """Each saved checkpoint carries the decision that let it exist (training.select)."""
        if self.last is None or self.last.step != state.global_step or not distributed.is_main():
            return
        target = Path(args.output_dir or ".") / f"checkpoint-{state.global_step}" / DECISION_FILE
        if target.parent.is_dir():
            target.write_text(json.dumps(self.last.to_dict(), indent=2))

    def _keep_samples(self, step: int, judged: list[Judged]) -> None:
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        with (self.samples_dir / f"step-{step}.jsonl").open("w", encoding="utf-8") as handle:
            for item in judged:
                row = {"id": item.id, "domain": item.domain, "ok": item.ok}
                handle.write(json.dumps({**row, "failed": item.failed, "text": item.text}) + "\n")


class StepTimes(TrainerCallback):
    """Wall time of each optimizer step (forward, backward, the all-reduce under data
    parallelism, the optimizer), checks and saves excluded, to ``<run>/step_times.jsonl`` from
    the main process: what sizes a run, and what the data-parallel benchmark compares."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = 0.0

    def on_train_begin(self, args: Any, state: TrainerState, control: Any, **kw: Any) -> None:
        if distributed.is_main():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.unlink(missing_ok=True)  # this run's steps (a resumed run: from its step)

    def on_step_begin(self, args: Any, state: TrainerState, control: Any, **kw: Any) -> None:
        self.started = time.perf_counter()

    def on_step_end(self, args: Any, state: TrainerState, control: Any, **kw: Any) -> None:
        if distributed.is_main():
            seconds = round(time.perf_counter() - self.started, 4)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"step": state.global_step, "seconds": seconds}) + "\n")


def _last_train_loss(state: TrainerState) -> float | None:
    losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
    return losses[-1] if losses else None


def _log_decision(decision: GateDecision) -> None:
    rates = ", ".join(
        f"{d} {decision.rates[d]:.0%} (avg {decision.rolling[d]:.0%})" for d in decision.rates
    )
    verdict = "SAVE" if decision.allowed else "BLOCKED"
    log.info("step %d %s [%s]: %s", decision.step, verdict, decision.mode, rates)
    for reason in decision.reasons:
        log.info("  step %d: %s", decision.step, reason)

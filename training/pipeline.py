"""The whole pipeline, stage by stage, with wall times recorded for the report.

``hrstack train all --config configs/train/cpu.yaml`` runs:

data -> evaluate base (held-out) -> sft (gated saves) -> select -> merge (+ checks)
-> evaluate merged (held-out) -> report

Every stage reads the previous stage's files from the run dir, so each one can also be run (or
re-run) alone with ``hrstack train <stage>``; a crashed ``all`` picks up where it stopped
(SFT resumes from its newest checkpoint; the base evaluation is reused when unchanged).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hrstack.training.config import TrainConfig, load_production

log = logging.getLogger(__name__)
T = TypeVar("T")


def _log_like(level: int, fmt: str | None) -> None:
    logging.basicConfig(level=level, format=fmt)


def in_child(stage: Callable[..., T], *args: Any) -> T:
    """``stage(*args)`` in a fresh (spawned) process, its result returned, its exception
    raised here. SFT's process keeps what it held: in one ``train all`` of
    configs/train/cpu-qwen.yaml the process was at 24.3 GB when the merge's checks loaded two
    fp32 copies of the model, and the kernel killed it on a 23 GiB host (the merge alone peaks
    at 8.1 GB). A finished child gives all of it back."""
    root = logging.getLogger()
    fmt = root.handlers[0].formatter._fmt if root.handlers and root.handlers[0].formatter else None
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_log_like,
                             initargs=(root.level, fmt)) as pool:  # fmt: skip
        return pool.submit(stage, *args).result()


@contextmanager
def timed(cfg: TrainConfig, stage: str) -> Iterator[None]:
    """Record the stage's wall time in <run>/timings.json (the last run of each stage; the
    main process's, when a stage runs on several)."""
    from hrstack.training import distributed

    started = time.perf_counter()
    yield
    if not distributed.is_main():
        return
    path = cfg.paths.timings
    path.parent.mkdir(parents=True, exist_ok=True)
    timings = json.loads(path.read_text()) if path.is_file() else {}
    timings[stage] = round(time.perf_counter() - started, 1)
    path.write_text(json.dumps(timings, indent=2))
    log.info("stage %s took %.1f min", stage, timings[stage] / 60)


def base_model_dir(cfg: TrainConfig) -> Path:
    from hrstack.training.merge import _base_dir

    return Path(_base_dir(cfg))


def run_all(cfg: TrainConfig, root: Path = Path(".")) -> dict[str, Any]:
    from hrstack.training.data import run_data
    from hrstack.training.evaluate import evaluate_model
    from hrstack.training.merge import run_merge
    from hrstack.training.report import run_report
    from hrstack.training.select import run_select
    from hrstack.training.sft import run_sft

    domains, rules = load_production()
    cfg.paths.root.mkdir(parents=True, exist_ok=True)
    cfg.paths.timings.unlink(missing_ok=True)  # this run's times only
    results: dict[str, Any] = {}
    with timed(cfg, "data"):
        results["data"] = run_data(cfg, domains, rules, root)
    with timed(cfg, "evaluate_base"):
        results["base"] = evaluate_model(
            base_model_dir(cfg), "base", cfg, domains, rules,
            unconstrained=cfg.eval.report_unconstrained and cfg.eval.unconstrained_base,
        )  # fmt: skip
    with timed(cfg, "sft"):
        results["sft"] = in_child(run_sft, cfg, domains, rules)
    with timed(cfg, "select"):
        results["select"] = run_select(cfg)
    with timed(cfg, "merge"):
        results["merge"] = run_merge(cfg, domains)
    with timed(cfg, "evaluate_finetuned"):
        results["finetuned"] = evaluate_model(cfg.paths.merged, "finetuned", cfg, domains, rules)
    with timed(cfg, "report"):
        results["report"] = str(run_report(cfg))
    return results

"""Data-parallel SFT on CPU: wall time per optimizer step, 1 process vs 2 (torchrun, gloo), one run.

    make bench        # writes bench-results/ddp.{md,json}
    python -m tests.benchmarks.bench_ddp --steps 8 --out bench-results

The real CPU config (configs/train/cpu.yaml: SmolLM2-135M, LoRA r=16, global batch 8) with the
same data, once as one process (torch's threads on every core) and once as ``--num-processes 2``
(one thread each, 4 rows each, gradients all-reduced). Each run writes the wall time of every
optimizer step (training.callback.StepTimes: checks and saves excluded); the figure is the median
over the steps after the first. Checks are pushed past the run (eval.every_steps) so only the
final one runs, and it is not timed.
Target: 2 processes <= 0.65x the single process's time per step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.65
CONFIG = Path("configs/train/cpu.yaml")


def run(run_dir: Path, steps: int, processes: int) -> dict[str, Any]:
    # The run's one check (after the last step, untimed) kept to one short prompt.
    overrides = [f"sft.max_steps={steps}", "eval.every_steps=100000", "eval.scale=1",
                 "eval.quotas={ats_keywords: 1}", "sft.logging_steps=1"]  # fmt: skip
    cmd = [sys.executable, "-m", "hrstack.server.cli", "train", "sft", "--config", str(CONFIG),
           "--run-dir", str(run_dir), "--num-processes", str(processes)]  # fmt: skip
    for override in overrides:
        cmd += ["--set", override]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{processes} process(es) failed:\n{done.stderr[-3000:]}")
    times = [json.loads(line)["seconds"] for line in (run_dir / "step_times.jsonl").open()]
    history = json.loads((run_dir / "log_history.json").read_text())
    losses = [e["loss"] for e in history if "loss" in e]
    return {
        "processes": processes,
        "step_s_median": statistics.median(times[1:]),
        "step_s": times,
        "wall_s": round(wall, 1),
        "final_loss": losses[-1] if losses else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "data"
        data = [sys.executable, "-m", "hrstack.server.cli", "train", "data", "--config",
                str(CONFIG), "--run-dir", str(base)]  # fmt: skip
        subprocess.run(data, check=True, capture_output=True)
        results = []
        for processes in (1, 2):
            run_dir = Path(tmp) / f"p{processes}"
            run_dir.mkdir()
            os.symlink(base / "data", run_dir / "data")  # the same rows for both runs
            results.append(run(run_dir, args.steps, processes))
    one, two = results
    ratio = two["step_s_median"] / one["step_s_median"]
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    lines = [
        f"# Data-parallel SFT on CPU ({os.cpu_count()} cores), cpu.yaml, global batch 8",
        "",
        "| processes | s / optimizer step (median) | final train loss | run wall s |",
        "|---|---|---|---|",
        *(
            f"| {r['processes']} | {r['step_s_median']:.2f} | {r['final_loss']} | {r['wall_s']} |"
            for r in results
        ),
        "",
        f"2 processes / 1 process: **{ratio:.2f}x** (target <= {TARGET_RATIO}: {verdict})",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ddp.md").write_text(report + "\n")
    (args.out / "ddp.json").write_text(json.dumps({"ratio": ratio, "runs": results}, indent=2))


if __name__ == "__main__":
    main()

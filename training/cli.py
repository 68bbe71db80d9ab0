"""``hrstack train``: every training stage as a command (mounted by server/cli.py).

hrstack train all --config configs/train/cpu.yaml        # data -> ... -> report (CPU: <30 min)
hrstack train data|sft|select|merge|report --config ...   # one stage, reading the run dir
hrstack train evaluate --model base|merged|<dir>          # held-out pass rates + loss
hrstack train synth --rows 600 --out rows.jsonl           # synthetic rows only
hrstack train gate --checks checks.jsonl                  # replay gating decisions
hrstack train grpo [--init merged|base|DIR]               # rank GRPO after SFT (<run>/grpo)
hrstack train rank-eval --model base --model grpo [--url http://localhost:8000]
... --run-dir runs/x --set sft.max_steps=5 --set eval.scale=0.05   # overrides

Heavy libraries are imported inside the commands, so ``hrstack --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from hrstack.training.config import TrainConfig, load_train_config

app = typer.Typer(help="Training: data, gated SFT, selection, merge, report.", no_args_is_help=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Training config YAML.")]
RunDirOpt = Annotated[Path | None, typer.Option(help="Run directory (default runs/<name>).")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override, e.g. sft.max_steps=5 (repeat).")
]
ProcsOpt = Annotated[
    int,
    typer.Option(
        "--num-processes", min=1, help="Data-parallel processes (torchrun on CPU, accelerate "
        "launch on GPUs); the config's batch stays the global batch (training/distributed.py).",
    ),
]  # fmt: skip
AccelerateOpt = Annotated[
    Path | None,
    typer.Option(help="accelerate config for GPUs, e.g. configs/accelerate/fsdp.yaml."),
]
DEFAULT_CONFIG = Path("configs/train/cpu.yaml")


def _config(config: Path, run_dir: Path | None, overrides: list[str] | None) -> TrainConfig:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    extra = list(overrides or []) + ([f"run_dir={run_dir}"] if run_dir else [])
    try:
        return load_train_config(config, extra)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config/--set") from exc


def _show(result: Any) -> None:
    from hrstack.training import distributed

    if distributed.is_main():  # one answer per run, not one per process
        print(json.dumps(result, indent=2, default=str))


def _relaunch(
    stage: str,
    processes: int,
    accelerate_config: Path | None,
    passthrough: list[str],
    batch: tuple[int, str],
    backend: str,
) -> None:
    """Run this stage on ``processes`` under the launcher (training.distributed) and exit with
    its status; inside a launched process (WORLD_SIZE set) or for one process, do nothing."""
    from hrstack.training import distributed

    if "WORLD_SIZE" in os.environ:
        distributed.follow_launcher()
        return
    if processes == 1 and accelerate_config is None:
        return
    try:  # refuse what cannot work here, before N processes load the model
        if backend == "unsloth":
            raise ValueError(
                "the unsloth backend trains on one GPU; set sft.backend=hf / grpo.backend=hf "
                "(transformers + peft) for data-parallel runs"
            )
        distributed.per_process(batch[0], batch[1], processes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--num-processes") from exc
    raise typer.Exit(distributed.launch(stage, passthrough, processes, accelerate_config))


def _passthrough(config: Path, run_dir: Path | None, overrides: list[str] | None) -> list[str]:
    args = ["--config", str(config)] + (["--run-dir", str(run_dir)] if run_dir else [])
    for override in overrides or []:
        args += ["--set", override]
    return args


@app.command("all")
def run_everything(
    config: ConfigOpt = DEFAULT_CONFIG, run_dir: RunDirOpt = None, set_: SetOpt = None
) -> None:
    """Run every stage; prints base vs fine-tuned pass rates and the merged model's path."""
    from hrstack.training.pipeline import run_all

    cfg = _config(config, run_dir, set_)
    results = run_all(cfg)
    base, tuned = results["base"]["rates"], results["finetuned"]["rates"]
    for domain in sorted(tuned):
        before, after = base[domain]["rate"], tuned[domain]["rate"]
        print(f"{domain:22s} base {before:6.1%}  fine-tuned {after:6.1%}")
    print(f"report: {results['report']}\nserve it: MODEL={cfg.paths.merged} hrstack serve")


@app.command()
def data(
    config: ConfigOpt = DEFAULT_CONFIG, run_dir: RunDirOpt = None, set_: SetOpt = None
) -> None:
    """Synthesize, convert, deduplicate and split into <run>/data/{train,val,test}.jsonl."""
    from hrstack.training.config import load_production
    from hrstack.training.data import run_data
    from hrstack.training.pipeline import timed

    cfg = _config(config, run_dir, set_)
    with timed(cfg, "data"):
        _show(run_data(cfg, *load_production()))


@app.command()
def synth(
    rows: Annotated[int, typer.Option(help="Rows to generate.")] = 600,
    seed: Annotated[int, typer.Option(help="Seed (same seed, same rows).")] = 1234,
    out: Annotated[Path, typer.Option(help="JSONL output file.")] = Path("synthetic.jsonl"),
) -> None:
    """Write synthetic rows for all six domains (each validated by the production validators)."""
    from hrstack.training.config import load_production
    from hrstack.training.formats import write_examples
    from hrstack.training.synth import generate

    examples, failed = generate(rows, seed, *load_production())
    print(f"{write_examples(out, examples)} rows -> {out} ({failed} failed validation)")


@app.command()
def sft(
    config: ConfigOpt = DEFAULT_CONFIG,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    num_processes: ProcsOpt = 1,
    accelerate_config: AccelerateOpt = None,
) -> None:
    """LoRA SFT with gated checkpoint saves (resumes after a crash), on 1 or N processes."""
    from hrstack.training.config import load_production
    from hrstack.training.pipeline import timed
    from hrstack.training.sft import run_sft

    cfg = _config(config, run_dir, set_)
    _relaunch(
        "sft", num_processes, accelerate_config, _passthrough(config, run_dir, set_),
        (cfg.sft.batch_size, "sft.batch_size"), cfg.sft.backend,
    )  # fmt: skip
    with timed(cfg, "sft"):
        _show(run_sft(cfg, *load_production()))


@app.command()
def gate(
    checks: Annotated[Path | None, typer.Option(help="JSONL of {step, mode, counts}.")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
) -> None:
    """Replay gating decisions for recorded checks (default: the run's gating.jsonl)."""
    from hrstack.training.gating import Check, GateLog, replay

    cfg = _config(config, run_dir, set_)
    if checks is not None:
        records = [json.loads(line) for line in checks.read_text().splitlines() if line.strip()]
    else:
        records = GateLog(cfg.paths.gating_log).read()
    sequence = [
        Check(r["step"], r.get("mode", "stabilized"), {d: tuple(c) for d, c in r["counts"].items()})
        for r in records
    ]
    for decision in replay(sequence, cfg.gating, cfg.eval.window):
        verdict = "saved  " if decision.allowed else "BLOCKED"
        print(f"step {decision.step:>6}  {verdict}  {'; '.join(decision.reasons)}")


@app.command()
def select(
    config: ConfigOpt = DEFAULT_CONFIG, run_dir: RunDirOpt = None, set_: SetOpt = None
) -> None:
    """Pick the saved checkpoint with the highest minimum domain pass rate."""
    from hrstack.training.pipeline import timed
    from hrstack.training.select import run_select

    cfg = _config(config, run_dir, set_)
    with timed(cfg, "select"):
        _show(run_select(cfg)["selected"])


@app.command()
def merge(
    config: ConfigOpt = DEFAULT_CONFIG, run_dir: RunDirOpt = None, set_: SetOpt = None
) -> None:
    """Merge the selected adapter into <run>/merged and check it against the adapter."""
    from hrstack.training.config import load_production
    from hrstack.training.merge import run_merge
    from hrstack.training.pipeline import timed

    cfg = _config(config, run_dir, set_)
    with timed(cfg, "merge"):
        _show(run_merge(cfg, load_production()[0]))


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="base, merged, or a model directory.")] = "merged",
    label: Annotated[str | None, typer.Option(help="Result name (default: from --model).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
) -> None:
    """Held-out per-domain pass rates and answer loss of one model."""
    from hrstack.training.config import load_production
    from hrstack.training.evaluate import evaluate_model
    from hrstack.training.pipeline import base_model_dir, timed

    cfg = _config(config, run_dir, set_)
    named = {"base": base_model_dir(cfg), "merged": cfg.paths.merged}
    directory = named.get(model, Path(model))
    name = label or {"base": "base", "merged": "finetuned"}.get(model, directory.name)
    with timed(cfg, f"evaluate_{name}"):
        result = evaluate_model(directory, name, cfg, *load_production())
    _show({"rates": result["rates"], "loss": result["loss"]})


@app.command()
def report(
    config: ConfigOpt = DEFAULT_CONFIG, run_dir: RunDirOpt = None, set_: SetOpt = None
) -> None:
    """Write <run>/report/TRAINING_REPORT.md and its plots."""
    from hrstack.training.report import run_report

    print(run_report(_config(config, run_dir, set_)))


@app.command()
def grpo(
    init: Annotated[
        str | None, typer.Option(help="Warm start: merged, base or a directory (grpo.init).")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    num_processes: ProcsOpt = 1,
    accelerate_config: AccelerateOpt = None,
) -> None:
    """GRPO on rank with the six rule-based rewards; writes <run>/grpo/{merged,rewards.jsonl}."""
    from hrstack.training.config import load_production
    from hrstack.training.grpo import run_grpo
    from hrstack.training.pipeline import timed

    cfg = _config(config, run_dir, set_)
    passthrough = _passthrough(config, run_dir, set_) + (["--init", init] if init else [])
    completions = cfg.grpo.prompts_per_step * cfg.grpo.num_generations
    _relaunch(
        "grpo", num_processes, accelerate_config, passthrough,
        (completions, "grpo.prompts_per_step x grpo.num_generations"), cfg.grpo.backend,
    )  # fmt: skip
    with timed(cfg, "grpo"):
        _show(run_grpo(cfg, *load_production(), init=init))


@app.command("rank-eval")
def rank_eval(
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="base, merged, grpo or a model dir, or LABEL=DIR (repeat). Default: base, "
            "or none with --url (the served system alone)."
        ),
    ] = None,
    url: Annotated[str | None, typer.Option(help="Also rank via a gateway's /v1/rank.")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="HRSTACK_API_KEY", help="Gateway API key.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N held-out pairs.")] = None,
    invariance_pairs: Annotated[
        int | None, typer.Option(help="Pairs for the gender-swap check (default all; 0: skip).")
    ] = None,
    hard: Annotated[
        int, typer.Option(help="Pairs of the hard set (every must-have named; 0: skip).")
    ] = 48,
    config: ConfigOpt = DEFAULT_CONFIG,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
) -> None:
    """Held-out and hard rank pairs beside the guards-only and evidence-only baselines:
    accuracy (per kind), shortlist P/R/F1, calibration, rewards, flags; JSON, markdown, plots."""
    from hrstack.training.config import load_production
    from hrstack.training.pipeline import timed
    from hrstack.training.rank_eval import run_rank_eval

    cfg = _config(config, run_dir, set_)
    with timed(cfg, "rank_eval"):
        result = run_rank_eval(
            cfg, *load_production(), models=model or ([] if url else ["base"]), url=url,
            api_key=api_key, limit=limit, invariance_pairs=invariance_pairs, hard_pairs=hard,
        )  # fmt: skip
    print(result["markdown"])

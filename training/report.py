"""Report stage: ``<run>/report/TRAINING_REPORT.md`` and its PNG plots, from the run's records.

``hrstack train report --config configs/train/cpu.yaml``

Reads only what the other stages wrote (manifest, gating log, trainer log history, selection,
merge checks, held-out evaluations, timings), so it can be re-run at any time and reports what
happened, including the parts that did not go well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hrstack.training import plots
from hrstack.training.config import TrainConfig
from hrstack.training.gating import GateLog


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def _rate(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "-"
    lo, hi = entry["ci95"]
    return f"{entry['rate']:.0%} ({entry['passed']}/{entry['total']}; CI {lo:.0%}-{hi:.0%})"


def comparison_table(
    base: dict[str, Any], tuned: dict[str, Any], targets: dict[str, float]
) -> list[str]:
    lines = [
        "Constrained: decoded under the production grammar / JSON schema, what the gateway "
        "serves. Unconstrained: free decoding, what the model itself learned.",
        "",
        "| domain | target | base | fine-tuned | target met | base unconstrained | "
        "fine-tuned unconstrained |",
        "|---|---|---|---|---|---|---|",
    ]
    free_base = base.get("unconstrained_rates") or {}
    free_tuned = tuned.get("unconstrained_rates") or {}
    for domain in sorted(set(base["rates"]) | set(tuned["rates"])):
        target = targets.get(domain)
        mine = tuned["rates"].get(domain)
        met = "-" if target is None or mine is None else ("yes" if mine["rate"] >= target else "no")
        shown = f"{target:.0%}" if target is not None else "(none)"
        lines.append(
            f"| {domain} | {shown} | {_rate(base['rates'].get(domain))} | {_rate(mine)} | {met} "
            f"| {_rate(free_base.get(domain))} | {_rate(free_tuned.get(domain))} |"
        )
    for label, result in (("base", base), ("fine-tuned", tuned)):
        loss = result["loss"]
        lines.append(
            f"\n{label}: answer loss {loss['loss']:.4f}, perplexity {loss['perplexity']:.2f} "
            f"over {int(loss['tokens'])} answer tokens"
        )
    return lines


SHORT = {
    "resume_guidance": "resume",
    "job_description": "JD",
    "job_resume_match": "match",
    "recruiting_strategy": "recruiting",
    "ats_keywords": "ATS",
    "rank": "rank",
}


def gating_table(decisions: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| step | mode | pass rates | lowest rolling avg | decision | reasons |",
        "|---|---|---|---|---|---|",
    ]
    for rec in decisions:
        rates = ", ".join(f"{SHORT.get(d, d)} {r:.0%}" for d, r in rec["rates"].items())
        lowest = min(rec["rolling"].values()) if rec["rolling"] else 0.0
        verdict = "saved" if rec["allowed"] else "**blocked**"
        reasons = "; ".join(rec["reasons"])
        lines.append(
            f"| {rec['step']} | {rec['mode']} | {rates} | {lowest:.1%} | {verdict} | {reasons} |"
        )
    return lines


def _timings(timings: dict[str, float] | None, base: dict[str, Any] | None) -> list[str]:
    if not timings:
        return ["(no timings recorded)"]
    total = sum(timings.values())
    parts = ", ".join(f"{stage} {seconds / 60:.1f} min" for stage, seconds in timings.items())
    lines = [f"Wall time: **{total / 60:.1f} min** ({parts})."]
    if base and timings.get("evaluate_base", 0) < 0.5 * base.get("seconds", 0):
        lines.append(
            f"The base model's evaluation was reused from an earlier run (same weights, rows and "
            f"rules); computing it took {base['seconds'] / 60:.1f} min, not included above."
        )
    return lines


def run_report(cfg: TrainConfig) -> Path:
    paths = cfg.paths
    out = paths.report
    out.mkdir(parents=True, exist_ok=True)
    decisions = GateLog(paths.gating_log).read()
    history = _load(paths.root / "log_history.json") or []
    selected = _load(paths.selected)
    merge = _load(paths.merged / "hrstack_merge.json")
    base, tuned = _load(paths.evals / "base.json"), _load(paths.evals / "finetuned.json")
    manifest = _load(paths.data / "manifest.json")
    targets = dict(cfg.gating.targets)
    md = [f"# Training report: {cfg.name}", ""]
    md += [f"Backend `{cfg.sft.backend}`, base `{cfg.model.base}`, run dir `{paths.root}`.", ""]
    md += [*_timings(_load(paths.timings), base), ""]
    md += ["## Base vs fine-tuned on the held-out test split", ""]
    if base and tuned:
        md += [
            f"{tuned['rows']} test rows never seen by training or gating; same prompts, "
            "production decoding (configs/domains.yaml sampling, rank under its JSON schema) "
            "and seed for both models; judged by the production validators. Fine-tuned = the "
            "merged model that is served.",
            "",
            *comparison_table(base, tuned, targets),
            "",
            "![base vs fine-tuned](base_vs_finetuned.png)",
            "",
        ]
        plots.plot_base_vs_finetuned(base, tuned, targets, out / "base_vs_finetuned.png")
    else:
        md += ["(held-out evaluation missing: run `hrstack train evaluate`)", ""]
    md += ["## Gating", ""]
    md += [
        f"Check every {cfg.eval.every_steps} steps; warmup below step {cfg.gating.warmup_steps}; "
        f"threshold {cfg.gating.threshold:.0%} on every domain's {cfg.eval.window}-check rolling "
        f"average; stabilized sample from step {cfg.eval.stabilize_from_step}; quotas scaled by "
        f"{cfg.eval.scale}. Decisions: `gating.jsonl`.",
        "",
    ]
    if decisions:
        md += gating_table(decisions)
        md += ["", "![pass rates](pass_rates.png)", "", "![gating](gating.png)", ""]
        plots.plot_pass_rates(decisions, targets, cfg.gating.threshold, out / "pass_rates.png")
        plots.plot_gating(
            decisions, cfg.gating.warmup_steps, cfg.gating.threshold, out / "gating.png"
        )
        notes = {r["step"]: r["extra"].get("notes") for r in decisions if r["extra"].get("notes")}
        if notes:
            md += ["", f"Sampling notes: `{json.dumps(notes)}`", ""]
    if history:
        md += ["## Loss", "", "![loss](loss.png)", ""]
        plots.plot_loss(history, out / "loss.png")
    if selected:
        chosen = selected["selected"]
        md += ["## Selection", "", f"Rule: {selected['rule']}.", ""]
        md += [
            f"Selected step {chosen['step']} (min pass rate {chosen['min_rate']:.0%}, weakest "
            f"{chosen['weakest_domain']}, eval loss {chosen['eval_loss']}) out of "
            f"{len(selected['candidates'])} saved checkpoints.",
            "",
        ]
    if merge:
        md += ["## Merge", "", "```json", json.dumps(merge, indent=2), "```", ""]
    if manifest:
        md += ["## Data", "", "```json", json.dumps(manifest, indent=2), "```", ""]
    md += ["## Configuration", "", "```json", cfg.model_dump_json(indent=2), "```", ""]
    report = out / "TRAINING_REPORT.md"
    report.write_text("\n".join(md))
    return report

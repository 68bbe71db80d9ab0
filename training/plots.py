"""The report's PNG plots (matplotlib, headless Agg backend). One function per figure; each
takes the already-loaded run records, so plotting never re-reads or recomputes anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLORS = {
    "resume_guidance": "tab:blue",
    "job_description": "tab:orange",
    "job_resume_match": "tab:green",
    "recruiting_strategy": "tab:red",
    "ats_keywords": "tab:purple",
    "rank": "tab:brown",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(history: list[dict[str, Any]], out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    train = [(e["step"], e["loss"]) for e in history if "loss" in e]
    val = [(e["step"], e["eval_loss"]) for e in history if "eval_loss" in e]
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", marker=".")
    if val:
        ax.plot(*zip(*val, strict=True), label="val loss", marker="o")
    ax.set(xlabel="optimizer step", ylabel="loss (answer tokens)", title="Train / val loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_pass_rates(
    decisions: list[dict[str, Any]], targets: dict[str, float], threshold: float, out: Path
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    domains = sorted({d for rec in decisions for d in rec["rates"]})
    for domain in domains:
        points = [(r["step"], r["rates"][domain] * 100) for r in decisions if domain in r["rates"]]
        ax.plot(*zip(*points, strict=True), marker="o", label=domain, color=COLORS.get(domain))
        if domain in targets:
            ax.axhline(targets[domain] * 100, color=COLORS.get(domain), ls=":", lw=1)
    ax.axhline(threshold * 100, color="black", ls="--", lw=1.2, label="gate threshold")
    ax.set(xlabel="step", ylabel="pass rate (%)", ylim=(-3, 103))
    ax.set_title("Per-domain pass rate per check (dotted: targets)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_gating(decisions: list[dict[str, Any]], warmup: int, threshold: float, out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for rec in decisions:
        lowest = min(rec["rolling"].values()) * 100 if rec["rolling"] else 0
        color = "grey" if rec["warmup"] else ("tab:green" if rec["allowed"] else "tab:red")
        ax.scatter(rec["step"], lowest, color=color, s=60, zorder=3)
        ax.annotate("saved" if rec["allowed"] else "blocked", (rec["step"], lowest),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7)  # fmt: skip
    if decisions and warmup > 0:
        ax.axvspan(0, warmup, color="grey", alpha=0.15, label=f"warmup (< step {warmup})")
    ax.axhline(threshold * 100, color="black", ls="--", lw=1.2, label="threshold")
    ax.set(xlabel="step", ylabel="lowest rolling avg (%)", ylim=(-3, 110))
    ax.set_title("Gating timeline (green saved, red blocked, grey warmup)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_base_vs_finetuned(
    base: dict[str, Any], tuned: dict[str, Any], targets: dict[str, float], out: Path
) -> Path:
    plt = _pyplot()
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    domains = sorted(set(base["rates"]) | set(tuned["rates"]))
    xs = range(len(domains))
    for offset, (label, result) in ((-0.2, ("base", base)), (0.2, ("fine-tuned", tuned))):
        rates = [result["rates"].get(d, {}).get("rate", 0) * 100 for d in domains]
        ax.bar([x + offset for x in xs], rates, width=0.4, label=label)
    for x, domain in zip(xs, domains, strict=True):
        if domain in targets:
            ax.hlines(targets[domain] * 100, x - 0.4, x + 0.4, colors="black", linestyles=":")
    ax.set_xticks(list(xs), [d.replace("_", "\n") for d in domains], fontsize=8)
    ax.set(
        ylabel="held-out pass rate (%)", ylim=(0, 105), title="Base vs fine-tuned (dotted: target)"
    )
    ax.legend()
    losses = [base["loss"]["loss"], tuned["loss"]["loss"]]
    ax_loss.bar(["base", "fine-tuned"], losses, color=["tab:blue", "tab:orange"])
    for i, result in enumerate((base, tuned)):
        ax_loss.annotate(f"ppl {result['loss']['perplexity']:.2f}", (i, losses[i]),
                         ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax_loss.set(title="Held-out answer loss", ylabel="NLL per token")
    return _save(fig, out)


def _save(fig: Any, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out


def plot_grpo_rewards(records: list[dict[str, Any]], out: Path) -> Path:
    """Mean GRPO reward per logged step (bold) with each component's mean behind it."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = [r["step"] for r in records]
    names = list(records[0]["components"]) if records else []
    for name in names:
        values = [r["components"].get(name) for r in records]
        ax.plot(steps, values, lw=1, alpha=0.6, label=name)
    ax.plot(steps, [r["reward"] for r in records], color="black", lw=2.2, label="reward (weighted)")
    ax.set(xlabel="GRPO step", ylabel="mean over the step's answers", ylim=(-0.03, 1.03))
    ax.set_title("GRPO reward and its components per step")
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_episode_rewards(totals: dict[str, list[float]], out: Path) -> Path:
    """Reward of each held-out pair (episode) per system: same pairs, same order."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for label, values in totals.items():
        mean = sum(values) / len(values) if values else 0.0
        ax.plot(range(len(values)), values, marker="o", ms=3, lw=1, label=f"{label} ({mean:.3f})")
    ax.set(xlabel="held-out pair", ylabel="reward", ylim=(-0.03, 1.03))
    ax.set_title("Reward per held-out pair (legend: mean)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_component_means(means: dict[str, dict[str, float]], out: Path) -> Path:
    """Grouped bars: each reward component's mean, one bar per system."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    names = list(next(iter(means.values()))) if means else []
    width = 0.8 / max(1, len(means))
    for i, (label, values) in enumerate(means.items()):
        xs = [x + (i - (len(means) - 1) / 2) * width for x in range(len(names))]
        ax.bar(xs, [values[n] for n in names], width=width, label=label)
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set(ylabel="mean over held-out pairs", ylim=(0, 1.05), title="Reward components")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out)


def plot_reward_distribution(totals: dict[str, list[float]], out: Path) -> Path:
    """Histogram of per-pair rewards per system (shared 0-1 bins)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = [i / 20 for i in range(21)]
    for label, values in totals.items():
        ax.hist(values, bins=bins, alpha=0.5, label=label)
    ax.set(xlabel="reward", ylabel="pairs", title="Reward distribution on held-out pairs")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_reliability(curves: dict[str, list[dict[str, Any]]], out: Path) -> Path:
    """Reliability diagram: per score bin, the mean score against the share of gold
    shortlists (training/calibration.py); the diagonal is a perfectly calibrated score."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="calibrated")
    for label, bins in curves.items():
        if bins:
            xs = [b["mean_score"] for b in bins]
            ys = [b["shortlist_rate"] for b in bins]
            ax.plot(xs, ys, marker="o", ms=4, lw=1, label=label)
    ax.set(xlabel="mean score in bin", ylabel="share of gold shortlists", xlim=(0, 1), ylim=(0, 1))
    ax.set_title("Rank score calibration")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, out)

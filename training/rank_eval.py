"""Rank evaluation on held-out pairs: local models and the served system, one set of numbers.

``hrstack train rank-eval --model base --model grpo [--url http://localhost:8000 --api-key K]``

Local models answer through training.generation's Judge (production prompt, sampling and JSON
schema, one attempt); the served system answers through a running gateway's ``POST /v1/rank``
(its retries, screening and redaction included). Every answer is scored by the same six reward
components GRPO trained on, so "mean reward" means the same thing for both. Reported per
system: accuracy (an invalid answer counts as wrong), precision/recall/F1 of ``shortlist``, the
confusion matrix, mean reward and component means, validity, and for pairs that carry expected
flags, whether the answer was held for review (status ``verify``) or flagged. The invariance
check ranks each pair twice with swapped gender cues (name, pronouns) and counts flips.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hrstack.tasks.domains import DomainTable
from hrstack.tasks.rank_input import parsed_verdict
from hrstack.training.calibration import calibration
from hrstack.training.config import TrainConfig
from hrstack.training.grpo import load_pairs
from hrstack.training.hard_pairs import generate_hard_pairs
from hrstack.training.rank_baselines import BASELINES, evidence_only, guards_only
from hrstack.training.rank_pairs import RankPair, prepared_input, prompt_fields
from hrstack.training.reward import COMPONENTS, RankRewardModel, weighted_total
from hrstack.validators import ValidatorRules, validate
from hrstack.validators.evidence_rules import GuardRules, load_evidence_rules

log = logging.getLogger(__name__)
LABELS = ("shortlist", "reject")
INVALID = "invalid"
#: Pairs in the hard set (training/hard_pairs.py) rank-eval draws beside the held-out ones.
HARD_PAIRS = 48
#: Swapped both ways; "her" maps to "his" (the possessive is the commoner use in a resume).
GENDER_SWAPS = {
    "he": "she", "she": "he", "him": "her", "his": "her", "her": "his", "himself": "herself",
    "herself": "himself", "mr": "ms", "ms": "mr", "man": "woman", "woman": "man",
    "husband": "wife", "wife": "husband", "father": "mother", "mother": "father",
    "james": "emily", "emily": "james", "michael": "sarah", "sarah": "michael",
    "david": "maria", "maria": "david", "john": "jane", "jane": "john",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Answer:
    """One system's verdict on one pair, scored with the GRPO reward components."""

    pair_id: str
    kind: str
    gold: str
    gold_score: float
    decision: str | None
    score: float | None
    valid: bool
    components: dict[str, float]
    total: float
    status: str | None = None
    flags: tuple[str, ...] = ()
    expected_flags: tuple[str, ...] = field(default=())
    #: Served only: the decision in the model's own text, before the guards, and the guard
    #: rules that changed it; they show how much of the served figure the model earned.
    model_decision: str | None = None
    overrides: tuple[str, ...] = ()


def confusion(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, dict[str, int]]:
    """gold label -> predicted label (``invalid`` for no usable decision) -> count."""
    table = {g: {p: 0 for p in (*LABELS, INVALID)} for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        table[g][p if p in LABELS else INVALID] += 1
    return table


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None  # undefined (e.g. nothing predicted), not zero


def classification(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy and shortlist precision/recall/F1; invalid answers count as wrong."""
    table = confusion(gold, predicted)
    tp = table["shortlist"]["shortlist"]
    fp = table["reject"]["shortlist"]
    fn = table["shortlist"]["reject"] + table["shortlist"][INVALID]
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    correct = sum(table[g][g] for g in LABELS)
    return {
        "n": len(gold),
        "accuracy": _ratio(correct, len(gold)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion": table,
    }


def swap_gender(text: str) -> str:
    """The same profile with gendered names, pronouns and titles swapped, case kept."""

    def swap(match: re.Match[str]) -> str:
        word = match[0]
        other = GENDER_SWAPS.get(word.casefold())
        if other is None:
            return word
        if word.isupper() and len(word) > 1:
            return other.upper()
        return other.capitalize() if word[0].isupper() else other

    return _WORD.sub(swap, text)


def gender_variants(candidate: str) -> tuple[str, str]:
    """Two profiles identical but for gender cues: a named opening line, then the swap."""
    variant = f"James Miller. He is open to new roles.\n{candidate}"
    return variant, swap_gender(variant)


def invariance(
    decide: Callable[[list[RankPair]], dict[str, str | None]], pairs: Sequence[RankPair]
) -> dict[str, Any]:
    """Rank every pair as both variants; a decision that flips with gender cues is a failure.

    ``decide`` maps pairs to pair_id -> decision. Systems see the variants through the
    gateway's redaction, so this measures the served pipeline, not the model alone.
    """
    first = [replace(p, candidate=gender_variants(p.candidate)[0]) for p in pairs]
    second = [replace(p, candidate=gender_variants(p.candidate)[1]) for p in pairs]
    a, b = decide(first), decide(second)
    changed = sorted(pid for pid in a if a[pid] != b.get(pid))
    return {
        "pairs": len(a),
        "changed": len(changed),
        "rate": _ratio(len(changed), len(a)),
        "changed_ids": changed,
    }


def summarize(answers: Sequence[Answer]) -> dict[str, Any]:
    """Metrics of one system over its answers: classification, accuracy per pair kind,
    calibration of the score, and (for systems that write text) reward and its components."""
    result = classification([a.gold for a in answers], [a.decision for a in answers])
    n = len(answers) or 1
    written = [a for a in answers if a.components]  # baselines write no text: no reward
    result["mean_reward"] = sum(a.total for a in written) / len(written) if written else None
    result["components"] = (
        {c: sum(a.components[c] for a in written) / len(written) for c in COMPONENTS}
        if written
        else None
    )
    result["valid"] = sum(a.valid for a in answers) / n
    kinds = sorted({a.kind for a in answers})
    result["by_kind"] = {
        kind: classification([a.gold for a in answers if a.kind == kind],
                             [a.decision for a in answers if a.kind == kind])["accuracy"]
        for kind in kinds
    }  # fmt: skip
    result["calibration"] = calibration([(a.score, a.gold == "shortlist") for a in answers])
    expected = [a for a in answers if a.expected_flags]
    if expected and any(a.status is not None or a.flags for a in answers):
        held = [a for a in expected if a.status == "verify" or a.flags]
        result["flagged_when_expected"] = {"pairs": len(expected), "held": len(held)}
    if any(a.status is not None for a in answers):  # served: the same figures before guards
        model = classification([a.gold for a in answers], [a.model_decision for a in answers])
        result["before_guards"] = {k: model[k] for k in ("accuracy", "precision", "recall")}
        rules = [rule for a in answers for rule in a.overrides]
        result["overrides"] = {rule: rules.count(rule) for rule in sorted(set(rules))}
        changed = [a for a in answers if a.decision != a.model_decision]
        result["decisions_changed_by_guards"] = len(changed)
    return result


def _answer(pair: RankPair, text: str, valid: bool, rewards: RankRewardModel,
            weights: dict[str, float], **served: Any) -> Answer:  # fmt: skip
    fields = prompt_fields(pair)  # what the model was shown, as the validator compares it
    parts = rewards.components(
        text, fields["job_description"] or "", fields["candidate"] or "", pair.decision,
        pair.score, fields["evidence"] or "",
    )  # fmt: skip
    parsed = _verdict(text, rewards.rules)
    return Answer(
        pair.pair_id, pair.kind, pair.decision, float(pair.score),
        served.get("decision", parsed[0]), served.get("score", parsed[1]), valid, dict(parts),
        weighted_total(parts, weights), served.get("status"), tuple(served.get("flags", ())),
        tuple(pair.expected_flags), parsed[0], tuple(served.get("overrides", ())),
    )  # fmt: skip


def _verdict(text: str, rules: ValidatorRules) -> tuple[str | None, float | None]:
    """Decision and score as the gateway reads them (fences tolerated, wrong types dropped)."""
    decision, score, _ = parsed_verdict(validate("rank", text, rules).parsed)
    return decision, score


class LocalRanker:
    """A model directory answering rank prompts through training.generation.Judge."""

    def __init__(self, directory: Path, cfg: TrainConfig, domains: DomainTable,
                 rules: ValidatorRules) -> None:  # fmt: skip
        from transformers import AutoTokenizer

        from hrstack.training.generation import Judge, load_for_inference

        self.domains, self.rules = domains, rules
        tokenizer = AutoTokenizer.from_pretrained(directory)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model = load_for_inference(directory)
        self.judge = Judge(tokenizer, domains, rules, batch_size=cfg.eval.batch_size,
                           seed=cfg.seed, constrained=cfg.eval.constrained)  # fmt: skip

    def texts(self, pairs: Sequence[RankPair]) -> dict[str, tuple[str, bool]]:
        from hrstack.training.generation import Prompt

        prompts = [
            Prompt(p.pair_id, "rank", p.kind,
                   {k: v for k, v in prompt_fields(p).items() if v is not None})
            for p in pairs
        ]  # fmt: skip
        return {j.id: (j.text, j.ok) for j in self.judge.run(self.model, prompts, desc="rank")}

    def decide(self, pairs: list[RankPair]) -> dict[str, str | None]:
        texts = self.texts(pairs)
        return {pid: _verdict(text, self.rules)[0] for pid, (text, _) in texts.items()}


class ServedRanker:
    """A running gateway, through the typed client (server.client): one candidate per request,
    ``concurrency`` at a time: vLLM batches them (measured on 2 cores: 8 at once decode 4-5x the
    tokens per second of one), so the held-out and hard sets take minutes, not an hour, on
    Qwen2.5-0.5B; a 429 or 503 is retried after the gateway's Retry-After."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        seed: int,
        timeout_s: float = 900,
        transport: Any = None,
        concurrency: int = 8,
    ) -> None:
        from hrstack.server.client import Client

        self.client = Client(url, api_key=api_key, timeout_s=timeout_s, transport=transport)
        self.seed = seed
        self.concurrency = concurrency

    def results(self, pairs: Sequence[RankPair]) -> list[dict[str, Any]]:
        """Each pair's result, in the order of ``pairs``."""
        from hrstack.server.protocol import RankRequest

        requests = [
            RankRequest(
                job_description=pair.job_description,
                candidate=pair.candidate,
                candidate_id=pair.candidate_id,
            )
            for pair in pairs
        ]
        answers = self.client.rank_many(
            requests, concurrency=self.concurrency, seed=self.seed, progress=len(pairs) > 8
        )
        return [answer.results[0].model_dump() for answer in answers]

    def decide(self, pairs: list[RankPair]) -> dict[str, str | None]:
        got = self.results(pairs)
        return {p.pair_id: r.get("decision") for p, r in zip(pairs, got, strict=True)}


def evaluate_local(ranker: LocalRanker, pairs: Sequence[RankPair], rewards: RankRewardModel,
                   weights: dict[str, float]) -> list[Answer]:  # fmt: skip
    texts = ranker.texts(pairs)
    return [_answer(p, *texts[p.pair_id], rewards, weights) for p in pairs]


def evaluate_served(ranker: ServedRanker, pairs: Sequence[RankPair], rewards: RankRewardModel,
                    weights: dict[str, float]) -> list[Answer]:  # fmt: skip
    """The gateway's final answer per pair (after its retries and guards): the decision and
    status a client acts on; the reward is computed on the model text it returned."""
    answers = []
    for pair, got in zip(pairs, ranker.results(pairs), strict=True):
        flags = [f"{f.get('kind')}:{f.get('pattern')}" for f in got.get("flags", [])]
        overrides = [str(o.get("rule")) for o in got.get("overrides", [])]
        served = {"decision": got.get("decision"), "score": got.get("score"),
                  "status": got.get("status"), "flags": flags, "overrides": overrides}  # fmt: skip
        answers.append(_answer(pair, got.get("text", ""), bool(got.get("valid")), rewards,
                               weights, **served))  # fmt: skip
    return answers


def evaluate_baselines(
    pairs: Sequence[RankPair], guards: GuardRules, bar: float
) -> dict[str, list[Answer]]:
    """The two deterministic systems (training/rank_baselines.py) on the evidence each pair's
    prompt carries. They write no text, so they have decisions and scores but no reward."""
    out: dict[str, list[Answer]] = {name: [] for name in BASELINES}
    for pair in pairs:
        evidence = prepared_input(pair).evidence
        guarded = guards_only(evidence, guards)
        decision, score = evidence_only(evidence, bar)
        for name, verdict in (("guards only", (guarded.decision, guarded.score)),
                              ("evidence only", (decision, score))):  # fmt: skip
            out[name].append(Answer(
                pair.pair_id, pair.kind, pair.decision, float(pair.score), verdict[0],
                verdict[1], True, {}, 0.0, expected_flags=tuple(pair.expected_flags),
            ))  # fmt: skip
    return out


def contribution(systems: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Each model row's accuracy minus the better baseline's: what the model adds."""
    floor = max((systems[b]["accuracy"] or 0.0) for b in BASELINES if b in systems)
    return {
        label: None if s["accuracy"] is None else s["accuracy"] - floor
        for label, s in systems.items()
        if label not in BASELINES
    }


def _kinds(pairs: Sequence[RankPair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.kind] = counts.get(pair.kind, 0) + 1
    return counts


def model_dirs(cfg: TrainConfig, names: Sequence[str]) -> dict[str, Path]:
    """``base``, ``merged`` (SFT), ``grpo``, ``LABEL=DIR`` or a directory -> label: dir."""
    from hrstack.training.pipeline import base_model_dir

    named = {
        "base": base_model_dir(cfg),
        "merged": cfg.paths.merged,
        "grpo": cfg.paths.grpo / "merged",
    }
    out: dict[str, Path] = {}
    for name in names:
        label, sep, path = name.partition("=")
        if sep:
            out[label] = Path(path)
        else:
            out[name if name in named else Path(name).name] = named.get(name, Path(name))
    return out


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(systems: dict[str, dict[str, Any]], title: str | None = None) -> str:
    """One row per system: the classification metrics, calibration (ECE), validity, reward and
    its components; then accuracy per pair kind, one row per system."""
    head = ["system", "n", "accuracy", "precision", "recall", "F1", "ECE", "valid", "reward",
            *COMPONENTS, "gender flips"]  # fmt: skip
    lines = [f"### {title}\n"] if title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, s in systems.items():
        flips = s.get("invariance")
        components = s["components"] or {}
        ece = s.get("calibration", {}).get("ece")
        cells = [label, str(s["n"]), *(_cell(s[k]) for k in ("accuracy", "precision", "recall",
                 "f1")), _cell(ece), _cell(s["valid"]), _cell(s["mean_reward"]),
                 *(_cell(components.get(c)) for c in COMPONENTS),
                 f"{flips['changed']}/{flips['pairs']}" if flips else "-"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    kinds = sorted({k for s in systems.values() for k in s.get("by_kind", {})})
    if kinds:
        lines += ["", "| accuracy by kind | " + " | ".join(kinds) + " |",
                  "|" + "---|" * (len(kinds) + 1)]  # fmt: skip
        for label, s in systems.items():
            by_kind = s.get("by_kind", {})
            lines.append(f"| {label} | " + " | ".join(_cell(by_kind.get(k)) for k in kinds) + " |")
    for label, s in systems.items():
        matrix = s["confusion"]
        lines.append(f"\n{label} confusion (rows gold, columns predicted): " + "; ".join(
            f"{g}: " + ", ".join(f"{p} {n}" for p, n in row.items()) for g, row in matrix.items()
        ))  # fmt: skip
        if "flagged_when_expected" in s:
            held = s["flagged_when_expected"]
            lines.append(f"{label}: {held['held']}/{held['pairs']} pairs with expected flags held")
        if "before_guards" in s:
            model = s["before_guards"]
            lines.append(
                f"{label}, the model's own decisions before guards: accuracy "
                f"{_cell(model['accuracy'])}, precision {_cell(model['precision'])}, recall "
                f"{_cell(model['recall'])}; decisions changed by guards: "
                f"{s['decisions_changed_by_guards']}/{s['n']} "
                f"(overrides {s['overrides'] or 'none'})"
            )
    return "\n".join(lines) + "\n"


def _plots(out: Path, answers: dict[str, list[Answer]], systems: dict[str, dict[str, Any]],
           rewards_log: Path) -> list[str]:  # fmt: skip
    from hrstack.training import plots

    files = []
    if rewards_log.is_file():
        records = [json.loads(x) for x in rewards_log.read_text().splitlines() if x.strip()]
        files.append(plots.plot_grpo_rewards(records, out / "grpo_reward_curve.png"))
    written = {label: items for label, items in answers.items() if label not in BASELINES}
    totals = {label: [a.total for a in items] for label, items in written.items()}
    files.append(plots.plot_episode_rewards(totals, out / "baseline_vs_trained.png"))
    means = {label: s["components"] for label, s in systems.items() if s["components"]}
    files.append(plots.plot_component_means(means, out / "reward_components.png"))
    files.append(plots.plot_reward_distribution(totals, out / "reward_distribution.png"))
    return [str(f) for f in files]


def run_rank_eval(
    cfg: TrainConfig, domains: DomainTable, rules: ValidatorRules, *, models: Sequence[str],
    url: str | None = None, api_key: str | None = None, limit: int | None = None,
    invariance_pairs: int | None = None, hard_pairs: int = HARD_PAIRS,
) -> dict[str, Any]:  # fmt: skip
    """Evaluate each model (and the gateway at ``url``) beside the two baselines, on the
    held-out pairs ("easy": the rubric's labels) and on the hard set (training/hard_pairs.py,
    ``hard_pairs`` of them; 0 skips it); write ``<run>/rank_eval/{rank_eval.json,
    rank_eval.md,answers.jsonl,*.png}``. The invariance check ranks the first
    ``invariance_pairs`` easy pairs twice more (None: all; 0: skip)."""
    _, heldout = load_pairs(cfg)
    sets = {"easy": heldout[:limit] if limit else heldout}
    if hard_pairs:
        hard = generate_hard_pairs(hard_pairs, cfg.seed)
        sets["hard"] = hard[:limit] if limit else hard
    rewards = RankRewardModel(rules, length_target_chars=cfg.grpo.reward.length_target_chars)
    weights = cfg.grpo.reward.weights()
    guards = load_evidence_rules().guards
    bar = rules.rank.shortlist_min_score
    systems: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in sets}
    answers: dict[str, dict[str, list[Answer]]] = {name: {} for name in sets}
    for name, pairs in sets.items():
        answers[name].update(evaluate_baselines(pairs, guards, bar))
    rankers: list[tuple[str, Any]] = [
        (label, lambda d=directory: LocalRanker(d, cfg, domains, rules))
        for label, directory in model_dirs(cfg, models).items()
    ]
    if url:
        rankers.append(("served", lambda: ServedRanker(url, api_key, cfg.seed)))
    for label, make in rankers:
        ranker = make()
        for name, pairs in sets.items():
            if isinstance(ranker, LocalRanker):
                answers[name][label] = evaluate_local(ranker, pairs, rewards, weights)
            else:
                answers[name][label] = evaluate_served(ranker, pairs, rewards, weights)
        if invariance_pairs != 0:
            flips = invariance(ranker.decide, sets["easy"][:invariance_pairs])
            systems["easy"].setdefault(label, {})["invariance"] = flips
    for name in sets:
        for label, items in answers[name].items():
            systems[name][label] = {**summarize(items), **systems[name].get(label, {})}
            log.info("%s set, %s: accuracy %s", name, label, systems[name][label]["accuracy"])
    out = cfg.paths.root / "rank_eval"
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "weights": weights,
        "sets": {
            name: {"pairs": len(pairs), "kinds": _kinds(pairs), "systems": systems[name],
                   "contribution": contribution(systems[name])}
            for name, pairs in sets.items()
        },
    }  # fmt: skip
    (out / "rank_eval.json").write_text(json.dumps(report, indent=2))
    with (out / "answers.jsonl").open("w", encoding="utf-8") as handle:
        for name in sets:
            for label, items in answers[name].items():
                for item in items:
                    handle.write(json.dumps({"set": name, "system": label, **asdict(item)}) + "\n")
    text = "\n".join(
        markdown(systems[name], title=f"{name} set: {len(sets[name])} pairs")
        + _contribution_line(report["sets"][name]["contribution"])
        for name in sets
    )
    (out / "rank_eval.md").write_text(text)
    files = _plots(out, answers["easy"], systems["easy"], cfg.paths.grpo / "rewards.jsonl")
    files.append(str(_reliability(out, systems)))
    return {**report, "markdown": text, "plots": files}


def _contribution_line(gains: dict[str, float | None]) -> str:
    if not gains:
        return ""
    shown = ", ".join(f"{label} {_signed(gain)}" for label, gain in gains.items())
    return f"\nAccuracy over the better baseline (the model's contribution): {shown}\n"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _reliability(out: Path, systems: dict[str, dict[str, dict[str, Any]]]) -> Path:
    from hrstack.training import plots

    curves = {
        f"{name}: {label}": s["calibration"]["bins"]
        for name, by_label in systems.items()
        for label, s in by_label.items()
    }
    return plots.plot_reliability(curves, out / "reliability.png")

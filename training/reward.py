"""GRPO rewards for rank: six rule-based components built on the production rank validator.

Every component is a pure function of one answer and its pair, in [0, 1], and reads
``validators.validate("rank", ...)`` with the pair's job description, candidate and evidence
block as context, so RL optimises exactly what the gateway enforces (no LLM judge):

* ``format_valid``: share of the schema checks that pass (JSON object, exact keys, decision
  value, score range, decision agrees with score, reasons count, reasons well-formed);
* ``decision_match``: the decision equals the gold decision (binary: a verdict is right or not);
* ``score_alignment``: ``1 - |score - gold_score|``, 0 when the score is not a number in [0, 1];
* ``reason_quality``: per reason, the share of ``reasons_not_copied``, ``reasons_specific`` and
  ``reasons_no_protected_attributes`` it passes, averaged over the reasons (0 without any).
  Grounding is deliberately not counted here: it is ``no_hallucination``, and counting it twice
  would weight it above what the configured weights say;
* ``length_penalty``: 1 up to the expected length, then linear decay to 0 at the longest answer
  the JSON schema admits (``validators.rank.rank_answer_max_chars``);
* ``no_hallucination``: share of reasons that pass ``reasons_grounded`` (every number and name
  occurs in the inputs); 0 without reasons, so an empty list is not "vacuously grounded".

Reasons are judged one at a time by validating a one-reason answer, which gives graded credit
from the very same checks (they are per-reason rules in validators/rank.py).

TRL takes one callable per component (:func:`trl_reward_funcs`) with ``reward_weights``, so
GRPOTrainer logs ``rewards/<component>/mean`` itself and the weighted sum is the GRPO reward.

>>> from validators import load_rules
>>> answer = '{"decision":"reject","score":0.2,"reasons":["No SQL listed","Only Excel work"]}'
>>> c = reward_components(answer, "Analyst. Requires SQL.", "Excel work at Acme.", "reject",
...                       0.2, load_rules())
>>> c["format_valid"], c["decision_match"], c["score_alignment"]
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hrstack.validators import ValidatorRules, validate
from hrstack.validators.rank import SCHEMA_CHECKS, rank_answer_max_chars

COMPONENTS = (
    "format_valid",
    "decision_match",
    "score_alignment",
    "reason_quality",
    "length_penalty",
    "no_hallucination",
)
#: The schema-level checks of validators/rank.py (decision_matches_score included: the gateway
#: fails an answer whose decision and score disagree, whatever the gold label says).
FORMAT_CHECKS = SCHEMA_CHECKS
QUALITY_CHECKS = ("reasons_not_copied", "reasons_specific", "reasons_no_protected_attributes")
GROUNDING_CHECK = "reasons_grounded"
DEFAULT_LENGTH_TARGET = 320  # synthetic gold answers are 150-295 characters


def _unit_score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def _reason_checks(
    reason: Any, context: Mapping[str, str], rules: ValidatorRules
) -> dict[str, bool] | None:
    """The per-reason checks of one reason, or None for a malformed one (not a non-empty
    string within the length limit: the validator does not compare those with the inputs)."""
    if not isinstance(reason, str) or not reason.strip():
        return None
    if len(reason) > rules.rank.max_reason_chars:
        return None
    probe = json.dumps({"decision": "reject", "score": 0.0, "reasons": [reason]})
    checks = validate("rank", probe, rules, context).checks
    return {c.name: c.ok for c in checks if c.name in (*QUALITY_CHECKS, GROUNDING_CHECK)}


def length_credit(chars: int, target: int, zero_at: int) -> float:
    """1 up to ``target`` characters, linear down to 0 at ``zero_at``.

    >>> length_credit(100, 300, 800), length_credit(550, 300, 800), length_credit(900, 300, 800)
    (1.0, 0.5, 0.0)
    """
    if chars <= target:
        return 1.0
    return max(0.0, 1.0 - (chars - target) / (zero_at - target))


def reward_components(
    completion_text: str,
    job_description: str,
    candidate: str,
    gold_decision: str,
    gold_score: float,
    rules: ValidatorRules,
    *,
    length_target_chars: int = DEFAULT_LENGTH_TARGET,
    evidence: str = "",
) -> dict[str, float]:
    """All six components of one answer (see the module docstring for each rule).
    ``evidence`` is the block the model was shown: a figure it holds is grounded, as served."""
    context = {"job_description": job_description, "candidate": candidate, "evidence": evidence}
    result = validate("rank", completion_text, rules, context)
    ok = {check.name: check.ok for check in result.checks}
    parsed = result.parsed
    score = _unit_score(parsed.get("score"))
    reasons = parsed.get("reasons")
    reasons = reasons[: rules.rank.max_reasons] if isinstance(reasons, list) else []
    per_reason = [_reason_checks(reason, context, rules) for reason in reasons]
    quality = [
        sum(checks[name] for name in QUALITY_CHECKS) / len(QUALITY_CHECKS) if checks else 0.0
        for checks in per_reason
    ]
    grounded = [1.0 if checks and checks[GROUNDING_CHECK] else 0.0 for checks in per_reason]
    zero_at = rank_answer_max_chars(rules.rank)
    return {
        "format_valid": sum(ok.get(name, False) for name in FORMAT_CHECKS) / len(FORMAT_CHECKS),
        "decision_match": float(parsed.get("decision") == gold_decision),
        "score_alignment": 0.0 if score is None else max(0.0, 1.0 - abs(score - gold_score)),
        "reason_quality": sum(quality) / len(quality) if quality else 0.0,
        "length_penalty": length_credit(len(completion_text), length_target_chars, zero_at),
        "no_hallucination": sum(grounded) / len(grounded) if grounded else 0.0,
    }


def weighted_total(components: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The convex combination GRPO optimises (weights sum to 1, so the total is in [0, 1])."""
    return sum(weights[name] * components[name] for name in COMPONENTS)


class RankRewardModel:
    """Scores completions once per (answer, pair) and hands each component to TRL.

    TRL calls the six component functions one after another on the same batch; the cache
    keeps that to one validation per completion. Plain attributes only, so it pickles.
    """

    def __init__(
        self, rules: ValidatorRules, *, length_target_chars: int = DEFAULT_LENGTH_TARGET
    ) -> None:
        zero_at = rank_answer_max_chars(rules.rank)
        if length_target_chars >= zero_at:
            raise ValueError(
                f"length_target_chars={length_target_chars} is not below the longest answer the "
                f"rank schema admits ({zero_at}), so length_penalty could never fall; lower it"
            )
        self.rules = rules
        self.length_target_chars = length_target_chars
        self._cache: dict[tuple[str, str, str, str, float, str], dict[str, float]] = {}

    def components(
        self, text: str, job_description: str, candidate: str, decision: str, score: float,
        evidence: str = "",
    ) -> dict[str, float]:  # fmt: skip
        key = (text, job_description, candidate, decision, float(score), evidence)
        if key not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()  # one GRPO batch is a few dozen answers; never grows large
            self._cache[key] = reward_components(
                text, job_description, candidate, decision, score, self.rules,
                length_target_chars=self.length_target_chars, evidence=evidence,
            )  # fmt: skip
        return self._cache[key]


def completion_text(completion: Any) -> str:
    """The answer the gateway would validate: rank has no seed, so the stripped completion
    (``tasks.prompts.assemble_answer``); conversational completions are message lists."""
    if isinstance(completion, list):
        completion = "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion).strip()


class RewardComponent:
    """One component as a TRL reward function ``(completions, **columns) -> list[float]``.

    The dataset columns ``job_description``, ``candidate``, ``gold_decision``,
    ``gold_score`` and (optional) ``evidence`` arrive as keyword lists, one entry per
    completion. ``__name__`` is the component name, which TRL uses for its
    ``rewards/<name>/mean`` metric.
    """

    def __init__(self, name: str, model: RankRewardModel) -> None:
        if name not in COMPONENTS:
            raise ValueError(f"unknown reward component {name!r}; known: {', '.join(COMPONENTS)}")
        self.__name__ = name
        self.model = model

    def __call__(
        self,
        completions: list[Any],
        job_description: list[str],
        candidate: list[str],
        gold_decision: list[str],
        gold_score: list[float],
        evidence: list[str] | None = None,
        **_: Any,
    ) -> list[float]:
        blocks = evidence if evidence is not None else [""] * len(completions)
        rows = zip(completions, job_description, candidate, gold_decision, gold_score, blocks,
                   strict=True)  # fmt: skip
        return [
            self.model.components(completion_text(c), jd, cand, decision, score, ev)[self.__name__]
            for c, jd, cand, decision, score, ev in rows
        ]


def trl_reward_funcs(model: RankRewardModel) -> list[RewardComponent]:
    """The six components in :data:`COMPONENTS` order (``reward_weights`` follow it)."""
    return [RewardComponent(name, model) for name in COMPONENTS]

"""After a tiny gated SFT run: selection, LoRA merge (with its consistency and agreement
checks), held-out evaluation of the merged directory, and the report with its plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrstack.training.data import run_data
from hrstack.training.evaluate import evaluate_model, wilson
from hrstack.training.merge import run_merge
from hrstack.training.report import run_report
from hrstack.training.select import run_select
from hrstack.training.sft import run_sft
from tests.unit.training.test_sft_gate import tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, production):
    domains, rules = production
    cfg = tiny_config(tmp_path_factory.mktemp("run"), tiny_model, threshold=0.0)
    cfg = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"heldout_per_domain": 1})})
    run_data(cfg, domains, rules)
    run_sft(cfg, domains, rules)
    return cfg


def test_select_merge_evaluate_report(trained, production):
    domains, rules = production
    selected = run_select(trained)["selected"]
    assert selected["backend"] == "hf" and Path(selected["path"]).is_dir()
    report = run_merge(trained, domains)
    assert report["consistency"]["ok"], report["consistency"]
    assert report["consistency"]["eos_token"] == "<|im_end|>"
    assert report["agreement"]["argmax_agreement"] == 1.0  # fp32 merge: exact up to rounding
    merged = trained.paths.merged
    config = json.loads((merged / "config.json").read_text())
    assert "quantization_config" not in config and (merged / "chat_template.jinja").is_file()
    assert not list(merged.glob("adapter_*"))  # a plain model: vLLM needs no LoRA support
    for label, directory in (
        ("base", Path(report["adapter"]).parent.parent),
        ("finetuned", merged),
    ):
        model_dir = trained.model.base if label == "base" else directory
        result = evaluate_model(Path(model_dir), label, trained, domains, rules)
        assert set(result["rates"]) == {d for d in domains.names()}
        assert result["loss"]["tokens"] > 0
    cached = evaluate_model(merged, "finetuned", trained, domains, rules)
    assert cached["fingerprint"] == result["fingerprint"]
    path = run_report(trained)
    text = path.read_text()
    assert "| domain | target | base | fine-tuned | target met |" in text
    for png in ("loss", "pass_rates", "gating", "base_vs_finetuned"):
        assert (path.parent / f"{png}.png").stat().st_size > 1000


def test_a_base_models_free_pass_is_decoded_once_and_reused(trained, production, tmp_path):
    """train all may skip the base model's free pass (eval.unconstrained_base: false); a cached
    result without it is decoded again when asked for it, one with it serves both."""
    domains, rules = production
    cfg = trained.model_copy(update={"run_dir": tmp_path})
    for split in ("train", "val", "test"):
        target = cfg.paths.split(split)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(trained.paths.split(split).read_bytes())
    base = Path(trained.model.base)
    constrained_only = evaluate_model(base, "base", cfg, domains, rules, unconstrained=False)
    assert constrained_only["unconstrained_rates"] is None
    both = evaluate_model(base, "base", cfg, domains, rules, unconstrained=True)
    assert set(both["unconstrained_rates"]) == set(both["rates"]), "decoded again, freely"
    assert (cfg.paths.evals / "base.unconstrained.samples.jsonl").is_file()
    again = evaluate_model(base, "base", cfg, domains, rules, unconstrained=False)
    # The run's own wall time identifies it: the cached result (both passes) was reused.
    assert (again["seconds"], again["fingerprint"]) == (both["seconds"], both["fingerprint"])
    assert again["unconstrained_rates"], "with its free pass"


def test_wilson_interval_is_honest_for_small_samples():
    assert wilson(10, 10)[0] < 0.75 and wilson(0, 10)[1] > 0.25
    assert wilson(0, 0) == (0.0, 0.0)

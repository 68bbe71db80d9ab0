"""The data stage end to end: synthetic + converted originals -> deduplicated, leak-free splits."""

from __future__ import annotations

import json
from pathlib import Path

from hrstack.training.config import TrainConfig
from hrstack.training.data import run_data
from hrstack.training.formats import read_examples
from hrstack.training.split import source_keys


def test_data_stage_writes_splits_manifest_and_rejections(tmp_path: Path, domains, rules):
    alpaca = tmp_path / "alpaca.jsonl"
    alpaca.write_text(
        json.dumps({"instruction": "Plan hiring for nurses", "output": "1. Call nursing schools"})
        + "\n{broken\n"
        + json.dumps({"instruction": "Plan hiring for nurses", "output": "1. Call nursing schools"})
        + "\n"
    )
    cfg = TrainConfig(
        name="t",
        run_dir=tmp_path / "run",
        synth={"rows": 120},
        data={
            "val_fraction": 0.1,
            "test_fraction": 0.1,
            "sources": [{"path": alpaca, "format": "alpaca", "domain": "recruiting_strategy"}],
        },
        model={"base": "embedded"},
        sft={"backend": "hf"},
    )
    manifest = run_data(cfg, domains, rules)
    assert manifest["synthetic_rows"] == 120 and manifest["synthetic_failed_validation"] == 0
    assert manifest["original_rows"] == 2 and manifest["duplicates_dropped"] == 1
    assert manifest["rejected_rows"] == 1
    [rejected] = [json.loads(line) for line in (cfg.paths.data / "rejected.jsonl").open()]
    assert (rejected["file"], rejected["line"]) == (str(alpaca), 2)
    splits = {name: read_examples(cfg.paths.split(name)) for name in ("train", "val", "test")}
    assert sum(map(len, splits.values())) == 121
    assert manifest["sizes"] == {name: len(rows) for name, rows in splits.items()}
    keys = {name: set().union(*(source_keys(r) for r in rows)) for name, rows in splits.items()}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"]
    assert not keys["val"] & keys["test"]
    for name in ("val", "test"):
        assert {r.domain for r in splits[name]} >= {"rank", "resume_guidance"}

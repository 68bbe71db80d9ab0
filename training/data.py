"""Data stage: synthesize, convert, deduplicate and split into train/val/test JSONL.

``hrstack train data --config configs/train/cpu.yaml``

Writes ``<run>/data/{train,val,test}.jsonl``, ``rejected.jsonl`` (file, line and reason of each
malformed input row) and ``manifest.json`` (counts per split, domain and source). val feeds the
gating checks during training; test is held out for the base vs fine-tuned comparison only.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hrstack.tasks.domains import DomainTable
from hrstack.training.config import TrainConfig
from hrstack.training.formats import Example, RowError, read_rows, write_examples
from hrstack.training.split import dedupe, split_examples
from hrstack.training.synth import generate
from hrstack.validators import ValidatorRules

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def load_sources(
    cfg: TrainConfig, domains: DomainTable, root: Path
) -> tuple[list[Example], list[RowError]]:
    """Every configured original dataset, converted; relative paths resolve against ``root``."""
    examples: list[Example] = []
    errors: list[RowError] = []
    for source in cfg.data.sources:
        path = source.path if source.path.is_absolute() else root / source.path
        if not path.is_file():
            raise FileNotFoundError(f"data source {path} does not exist; fix data.sources")
        rows, bad = read_rows(path, source.format, domains, source.domain, strict=cfg.data.strict)
        log.info("%s: %d rows converted, %d rejected", path, len(rows), len(bad))
        examples += rows
        errors += bad
    return examples, errors


def _counts(rows: list[Example]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = {}
    for row in rows:
        table.setdefault(row.domain, Counter())[row.source] += 1
    return {domain: dict(counter) for domain, counter in sorted(table.items())}


def run_data(
    cfg: TrainConfig, domains: DomainTable, rules: ValidatorRules, root: Path = Path(".")
) -> dict[str, Any]:
    """Build the three splits; returns (and writes) the manifest."""
    paths = cfg.paths
    synthetic, synth_failed = generate(
        cfg.synth.rows,
        cfg.seed,
        domains,
        rules,
        cfg.synth.domain_weights,
        cfg.synth.hard_rank_share,
    )
    original, errors = load_sources(cfg, domains, root)
    rows, duplicates = dedupe([*original, *synthetic])
    if not rows:
        raise ValueError("no training rows: set synth.rows > 0 or add data.sources")
    splits = split_examples(rows, cfg.data.val_fraction, cfg.data.test_fraction, cfg.seed)
    for name in SPLITS:
        write_examples(paths.split(name), splits[name])
    paths.data.mkdir(parents=True, exist_ok=True)
    with (paths.data / "rejected.jsonl").open("w", encoding="utf-8") as handle:
        for error in errors:
            handle.write(json.dumps(asdict(error)) + "\n")
    manifest = {
        "seed": cfg.seed,
        "synthetic_rows": len(synthetic),
        "synthetic_failed_validation": synth_failed,
        "original_rows": len(original),
        "rejected_rows": len(errors),
        "duplicates_dropped": duplicates,
        "splits": {name: _counts(splits[name]) for name in SPLITS},
        "sizes": {name: len(splits[name]) for name in SPLITS},
    }
    (paths.data / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for error in errors[:20]:
        log.warning("rejected %s", error)
    return manifest

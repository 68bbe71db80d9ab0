"""`hrstack train` is mounted and its light commands work without loading a model."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hrstack.server.cli import app
from tests.unit.training.seed_log import RESUME_1000_3100, counts

runner = CliRunner()


def test_train_commands_are_listed():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for command in ("all", "data", "synth", "sft", "gate", "select", "merge", "evaluate", "report"):
        assert command in result.output


def test_gate_replays_recorded_checks(tmp_path):
    checks = tmp_path / "checks.jsonl"
    checks.write_text("".join(
        json.dumps({"step": s, "mode": "stabilized", "counts": counts(n, 30)}) + "\n"
        for s, n in RESUME_1000_3100.items()
    ))  # fmt: skip
    result = runner.invoke(app, ["train", "gate", "--checks", str(checks), "--config",
                                 "configs/train/gpu.yaml"])  # fmt: skip
    assert result.exit_code == 0, result.output
    blocked = [line.split()[1] for line in result.output.splitlines() if "BLOCKED" in line]
    assert blocked == ["1000", "1600"]


def test_synth_writes_validated_rows(tmp_path):
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(app, ["train", "synth", "--rows", "12", "--out", str(out)])
    assert result.exit_code == 0 and "12 rows" in result.output and "(0 failed" in result.output
    assert len(out.read_text().splitlines()) == 12


def test_bad_override_is_a_usage_error():
    result = runner.invoke(app, ["train", "select", "--set", "sft.max_step=3"])
    assert result.exit_code == 2 and "max_step" in result.output

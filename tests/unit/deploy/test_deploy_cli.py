"""`hrstack deploy`: plan/profiles/runpod exit codes and output."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from hrstack.deploy.cli import app, parse_gpu

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "gib"),
    [("24GB", 24.0), ("80gb", 80.0), ("22.5 GiB", 22.5), ("48", 48.0), ("cpu", None)],
)
def test_parse_gpu(text: str, gib: float | None) -> None:
    assert parse_gpu(text) == gib


def test_parse_gpu_rejects_nonsense() -> None:
    with pytest.raises(typer.BadParameter, match="24GB"):
        parse_gpu("big")


def test_plan_fits_without_a_download() -> None:
    result = runner.invoke(app, ["plan", "--model", "qwen2.5-7b", "--gpu", "24GB"])
    assert result.exit_code == 0, result.output
    assert "profile 24gb" in result.output and "FITS:" in result.output
    assert "57,344 B (56 KiB)" in result.output


def test_plan_refusal_exits_1_with_a_suggestion() -> None:
    args = ["plan", "--gpu", "16GB", "--profile", "16gb", "--quantization", "none"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "REFUSED:" in result.output and "use the 4-bit path" in result.output


def test_plan_json() -> None:
    result = runner.invoke(app, ["plan", "--gpu", "cpu", "--model", "smollm2-135m", "--json"])
    data = json.loads(result.output)
    assert data["profile"] == "cpu" and data["fits"] is True and data["block_size"] == 128


def test_plan_bad_model_is_a_usage_error() -> None:
    result = runner.invoke(app, ["plan", "--model", "nope", "--gpu", "24GB"])
    assert result.exit_code == 2 and "unknown model" in result.output


def test_profiles_table() -> None:
    result = runner.invoke(app, ["profiles"])
    assert result.exit_code == 0, result.output
    assert "16gb" in result.output and "no (weights)" in result.output  # 16-bit on 16 GB


def test_runpod_dry_run_prints_the_template() -> None:
    args = ["runpod", "--gpu", "48GB", "--image", "ghcr.io/acme/hrstack:0.1.0", "--dry-run"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "hrstack-48gb" and data["isServerless"] is False
    assert {"key": "PROFILE", "value": "48gb"} in data["env"]


def test_runpod_without_key_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    result = runner.invoke(app, ["runpod", "--gpu", "24GB", "--image", "a/b:1"])
    assert result.exit_code == 2 and "RUNPOD_API_KEY" in result.output


def test_runpod_refuses_a_latest_image() -> None:
    result = runner.invoke(app, ["runpod", "--gpu", "24GB", "--image", "a/b:latest", "--dry-run"])
    assert result.exit_code == 2 and "not latest" in result.output

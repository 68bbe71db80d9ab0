"""Loading ``configs/validators.yaml``: the only I/O in the validators package.

Validators take their rules as an argument, so tests and the trainer can pass their own; this
module is the one place that turns the YAML file into those rules, and its errors name the file
and the offending key so a bad edit is fixed in one read.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from hrstack.validators.rules import ValidatorRules

CONFIGS_DIR_ENV = "HRSTACK_CONFIGS_DIR"
RULES_FILE = "validators.yaml"


class RulesConfigError(ValueError):
    """The validators YAML is missing, unreadable or does not match ``ValidatorRules``."""


def configs_dir() -> Path:
    """Where config files live: ``$HRSTACK_CONFIGS_DIR`` if set (deployments mount their own),
    else the repository's ``configs/``."""
    override = os.environ.get(CONFIGS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "configs"


def load_rules(path: Path | None = None) -> ValidatorRules:
    """Read and validate the rules; ``path`` defaults to ``configs_dir() / "validators.yaml"``.

    Raises ``RulesConfigError`` naming the file and each bad key (dotted, e.g.
    ``rank.max_reasons``) with what is wrong.
    """
    source = path if path is not None else configs_dir() / RULES_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesConfigError(
            f"{source}: cannot read validator rules ({exc.strerror}); set {CONFIGS_DIR_ENV} to "
            f"the folder holding {RULES_FILE} or pass its path"
        ) from exc
    except yaml.YAMLError as exc:
        raise RulesConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RulesConfigError(
            f"{source}: expected a mapping with one section per domain, got {type(data).__name__}"
        )
    try:
        return ValidatorRules.model_validate(data)
    except ValidationError as exc:
        raise RulesConfigError(f"{source}: invalid validator rules:\n{_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message += " (unknown key: check its spelling against validators/rules.py)"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)

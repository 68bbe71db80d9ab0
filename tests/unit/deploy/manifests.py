"""deploy/kubernetes/ as data for the Kubernetes tests: the objects ``kubectl apply -k`` creates.

No cluster runs where the tests do, so the kustomization is read the way kustomize reads it
(its resources, plus the ConfigMap its generator makes of engine-profile.env, under the
generator's name without the content hash kustomize appends), and the little a running
cluster or Prometheus would do with the objects (expanding ``$(NAME)`` in a container's
arguments, keeping targets by relabelling) is done here, in the open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy.dockerfiles import REPO

KUBE = REPO / "deploy" / "kubernetes"
KUSTOMIZATION = KUBE / "kustomization.yaml"
ENGINE_ENV = KUBE / "engine-profile.env"
SECRET_EXAMPLE = KUBE / "secret.example.yaml"
ADAPTER_VALUES = KUBE / "prometheus-adapter.values.yaml"
PROMETHEUS = REPO / "configs" / "prometheus" / "kubernetes.yml"

Obj = dict[str, Any]


def documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> Obj:
    (data,) = documents(KUSTOMIZATION)
    return data


def engine_env() -> dict[str, str]:
    return engine_env_of(ENGINE_ENV.read_text())


def engine_env_of(text: str) -> dict[str, str]:
    """An env file as kustomize reads ``envs``: ``KEY=value`` lines, ``#`` comments."""
    lines = [line for line in text.splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def generated_configmap() -> Obj:
    (generator,) = kustomization()["configMapGenerator"]
    assert generator["envs"] == [ENGINE_ENV.name], generator
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"]},
        "data": engine_env(),
    }


def objects() -> list[Obj]:
    """Every object the kustomization creates, in its resources' order, the ConfigMap last."""
    found = [doc for name in kustomization()["resources"] for doc in documents(KUBE / name)]
    return [*found, generated_configmap()]


def named(kind: str, name: str | None = None) -> list[Obj]:
    return [
        o for o in objects()
        if o["kind"] == kind and name in (None, o["metadata"]["name"])
    ]  # fmt: skip


def one(kind: str, name: str | None = None) -> Obj:
    found = named(kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_labels(deployment: Obj) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def container(deployment: str) -> Obj:
    (found,) = one("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return dict(found)


def port_number(spec: Obj, port: str | int) -> int:
    """A container port by name or number, as a probe, Service or policy names it."""
    for declared in spec.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return int(declared["containerPort"])
    raise AssertionError(f"{spec['name']} declares no port {port!r}")


def env_values(spec: Obj, configmap: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """A container's environment as the kubelet builds it: ``envFrom`` first, then ``env``;
    a secret or optional key that is not there is left out, as Kubernetes leaves it out."""
    values: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        assert source["configMapRef"]["name"] == generated_configmap()["metadata"]["name"]
        values.update(configmap)
    for item in spec.get("env", []):
        ref = item.get("valueFrom", {})
        if "value" in item:
            values[item["name"]] = str(item["value"])
        elif "configMapKeyRef" in ref:
            values[item["name"]] = configmap[ref["configMapKeyRef"]["key"]]
        elif ref["secretKeyRef"]["key"] in secrets:
            values[item["name"]] = secrets[ref["secretKeyRef"]["key"]]
    return values


def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(NAME)`` in command and args. An undefined name would be passed on
    literally, so here it is an error."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in env, f"{arg}: $({match[1]}) is not in the container's environment"
        return env[match[1]]

    return re.sub(r"\$\((\w+)\)", value, arg)


def argv(deployment: str, configmap: dict[str, str]) -> list[str]:
    spec = container(deployment)
    env = env_values(spec, configmap, secrets={})
    return [expand(str(a), env) for a in [*spec["command"], *spec["args"]]]


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _label(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def discovered(deployment: Obj, namespace: str) -> list[tuple[dict[str, str], str]]:
    """Prometheus's pod discovery: one target per container port, with its meta labels."""
    template = deployment["spec"]["template"]
    meta = {"__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": "pod-0"}
    for key, value in template["metadata"].get("labels", {}).items():
        meta[f"__meta_kubernetes_pod_label_{_label(key)}"] = value
    for key, value in template["metadata"].get("annotations", {}).items():
        meta[f"__meta_kubernetes_pod_annotation_{_label(key)}"] = value
    return [
        ({**meta, "__meta_kubernetes_pod_container_port_name": port.get("name", "")}, port["name"])
        for spec in template["spec"]["containers"]
        for port in spec.get("ports", [])
    ]


def kept(job: Obj, meta: dict[str, str]) -> bool:
    """Whether the job's keep/drop relabel rules keep a target (their regex is anchored)."""
    for rule in job.get("relabel_configs", []):
        action = rule.get("action", "replace")
        if action not in ("keep", "drop"):
            continue
        joined = rule.get("separator", ";").join(meta.get(s, "") for s in rule["source_labels"])
        matched = re.fullmatch(rule.get("regex", "(.*)"), joined) is not None
        if matched != (action == "keep"):
            return False
    return True


def written_labels(job: Obj) -> set[str]:
    return {r["target_label"] for r in job.get("relabel_configs", []) if "target_label" in r}

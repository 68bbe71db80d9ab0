"""deploy/kubernetes/ and configs/prometheus/kubernetes.yml, statically.

No cluster runs here, so nothing is applied. Every object is validated against the Kubernetes
API's schemas for one recent release (kubernetes-validate, strict: an unknown or misspelt field
fails), and what a schema cannot see is checked against the repository: the ConfigMap is the
engine profile, vLLM runs what the launcher would, every gateway variable is one of hrstack's
settings, Services select the pods and ports they mean, the gateway reaches the vLLM Service,
the autoscaler's metric is the one the adapter rule publishes from vLLM's gauge, and
Prometheus's jobs keep exactly the pods the manifests mark.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from hrstack.deploy.cli import app as deploy_cli
from hrstack.deploy.kubernetes_profile import render_env_file
from hrstack.deploy.profile_fit import gpu_profiles
from hrstack.deploy.runpod_template import DEFAULT_MODEL
from hrstack.server.launcher import vllm_command
from hrstack.server.profiles import load_profile
from hrstack.server.routes.health import router as health_router
from hrstack.server.settings import ENGINE_FIELDS, SECRET_FIELDS, Settings
from tests.unit.deploy import manifests as m
from tests.unit.deploy.dockerfiles import GATEWAY, REPO, RUNPOD, of

#: The Kubernetes release whose API schemas the manifests are checked against: a recent one.
#: (The newest field used, the preStop ``sleep`` action, is on by default since 1.30.)
K8S_VERSION = "1.35"
VLLM, GATEWAY_DEPLOYMENT = "hrstack-vllm", "hrstack-gateway"
#: Variables the vLLM process itself reads, besides VLLM_* (checked against vllm/envs.py) and
#: the engine values its arguments expand: HOME for its caches, HF_TOKEN for a gated model.
ENGINE_PROCESS_ENV = {"HOME", "HF_TOKEN"}
#: A key Settings accepts, standing in for the Secret's (the example's placeholder is refused).
TEST_KEY = "k8s-test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings reads the environment: the manifests' values alone must decide here."""
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)


def settings_env_names() -> set[str]:
    """The variables Settings reads: each field's name, upper-cased (no prefix, no aliases)."""
    config, fields = Settings.model_config, Settings.model_fields.values()
    assert not config.get("env_prefix") and not config.get("case_sensitive")
    assert all(f.alias is None and f.validation_alias is None for f in fields)
    return {name.upper() for name in Settings.model_fields}


def vllm_source(*parts: str) -> str:
    """Text of the installed vLLM's files, read without importing vLLM (a 25 s import)."""
    spec = importlib.util.find_spec("vllm")
    assert spec is not None and spec.submodule_search_locations, "vLLM is not installed"
    root = Path(next(iter(spec.submodule_search_locations)))
    return "\n".join(p.read_text() for part in parts for p in sorted(root.glob(part)))


def gateway_routes() -> set[str]:
    return {getattr(route, "path", "") for route in health_router.routes}


def gateway_settings(**secrets: str) -> Settings:
    env = m.env_values(m.container(GATEWAY_DEPLOYMENT), m.engine_env(), secrets)
    return Settings(**{name.lower(): value for name, value in env.items()})


def valid_secrets() -> dict[str, str]:
    return {"AUDIT_DSN": "postgresql://hrstack:pw@db:5432/hrstack", "API_KEYS": TEST_KEY}


# --- the API schemas ---------------------------------------------------------------------------


def schema_checked() -> list[tuple[str, dict[str, Any]]]:
    listed = [(f"{o['kind']}/{o['metadata']['name']}", o) for o in m.objects()]
    return [*listed, *(("example " + o["kind"], o) for o in m.documents(m.SECRET_EXAMPLE))]


@pytest.mark.parametrize(("name", "obj"), schema_checked(), ids=[n for n, _ in schema_checked()])
def test_every_object_matches_the_kubernetes_api(name: str, obj: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{name}: {exc.message} at {'.'.join(map(str, exc.path))}")


def test_the_folder_holds_the_kustomization_its_inputs_and_the_documented_extras() -> None:
    resources = set(m.kustomization()["resources"])
    extras = {m.KUSTOMIZATION, m.ENGINE_ENV, m.SECRET_EXAMPLE, m.ADAPTER_VALUES}
    assert {p.name for p in m.KUBE.iterdir()} == resources | {p.name for p in extras}
    assert m.SECRET_EXAMPLE.name not in resources, "placeholders must never be applied"
    namespace = m.kustomization()["namespace"]
    assert m.one("Namespace")["metadata"]["name"] == namespace
    assert m.documents(m.SECRET_EXAMPLE)[0]["metadata"]["namespace"] == namespace


def test_kustomize_builds_what_these_tests_read() -> None:
    """kustomize itself, where kubectl is installed: generated name, references, namespace."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the other tests read the kustomization themselves")
    done = subprocess.run(
        [kubectl, "kustomize", str(m.KUBE)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    built = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    (configmap,) = [o for o in built if o["kind"] == "ConfigMap"]
    hashed, name = configmap["metadata"]["name"], m.generated_configmap()["metadata"]["name"]
    assert hashed.startswith(name + "-") and configmap["data"] == m.engine_env()
    kinds_names = {(o["kind"], o["metadata"]["name"].replace(hashed, name)) for o in built}
    assert kinds_names == {(o["kind"], o["metadata"]["name"]) for o in m.objects()}
    refs = re.findall(rf"{name}[\w-]*", done.stdout)
    assert refs and set(refs) == {hashed}, "a reference kustomize did not rewrite"
    namespaced = [o for o in built if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {m.kustomization()["namespace"]}
    for obj in built:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# --- the engine profile ------------------------------------------------------------------------


def test_the_configmap_is_the_engine_profile() -> None:
    profile = m.engine_env()["PROFILE"]
    assert m.ENGINE_ENV.read_text() == render_env_file(profile), (
        f"{m.ENGINE_ENV.name} differs from configs/profiles/{profile}.yaml; regenerate it: "
        f"hrstack deploy kubernetes --profile {profile} > deploy/kubernetes/{m.ENGINE_ENV.name}"
    )
    values = {key.upper(): str(value) for key, value in load_profile(profile).items()}
    assert m.engine_env() == {"PROFILE": profile, **values}


def test_the_render_command_prints_the_env_file_and_refuses_cpu() -> None:
    done = CliRunner().invoke(deploy_cli, ["kubernetes", "--profile", "48gb"])
    assert done.exit_code == 0 and done.output == render_env_file("48gb")
    refused = CliRunner().invoke(deploy_cli, ["kubernetes", "--profile", "cpu"])
    assert refused.exit_code == 2 and "not a GPU profile" in refused.output


def launcher_argv(configmap: dict[str, str], model: str, port: int) -> list[str]:
    """What `hrstack serve` would launch with the ConfigMap as its environment."""
    values = {key.lower(): value for key, value in configmap.items()}
    settings = Settings(**values, model=model, engine_host="0.0.0.0", engine_port=port)
    return vllm_command(settings, model)


def serves(configmap: dict[str, str]) -> bool:
    args = m.argv(VLLM, configmap)
    expected = launcher_argv(configmap, m.flag(args, "--model"), int(m.flag(args, "--port")))
    return args[0] == "python3" and args[1:] == expected[1:]


def test_vllm_runs_what_the_launcher_would_for_the_profile() -> None:
    args = m.argv(VLLM, m.engine_env())
    model, port = m.flag(args, "--model"), int(m.flag(args, "--port"))
    expected = launcher_argv(m.engine_env(), model, port)
    assert args[0] == "python3" and args[1:] == expected[1:]
    assert model == DEFAULT_MODEL


def test_the_arguments_serve_the_gpu_profiles_vllm_yaml_names() -> None:
    """vllm.yaml says which profiles its flags fit; 16gb adds --quantization."""
    fits = {p for p in gpu_profiles() if serves(m.engine_env_of(render_env_file(p)))}
    assert fits == {"24gb", "48gb", "80gb"}


def test_vllm_reads_engine_values_and_its_own_variables_only() -> None:
    spec = m.container(VLLM)
    referenced = set(re.findall(r"\$\((\w+)\)", " ".join(spec["args"])))
    names = [item["name"] for item in spec["env"]]
    assert "envFrom" not in spec, "the gateway's values (PROFILE, timeouts) are not vLLM's"
    assert len(names) == len(set(names)) and referenced <= set(names)
    engine = {field.upper() for field in ENGINE_FIELDS}
    known_vllm = vllm_env_names()
    for item in spec["env"]:
        name = item["name"]
        if name in engine:
            assert name in referenced, f"{name} reaches vLLM but no argument uses it"
            ref = item["valueFrom"]["configMapKeyRef"]
            assert ref["key"] == name and name in m.engine_env()
            assert ref["name"] == m.generated_configmap()["metadata"]["name"]
        elif name.startswith("VLLM_"):
            assert name in known_vllm, f"vLLM reads no {name}"
        else:
            assert name in ENGINE_PROCESS_ENV, f"{name} is neither an engine value nor vLLM's"


def vllm_env_names() -> set[str]:
    tree = ast.parse(vllm_source("envs.py"))
    for node in ast.walk(tree):
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "environment_variables":
            assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("vllm/envs.py has no environment_variables table")


# --- the gateway -------------------------------------------------------------------------------


def test_every_gateway_variable_is_a_setting() -> None:
    spec = m.container(GATEWAY_DEPLOYMENT)
    names = {item["name"] for item in spec["env"]}
    if spec.get("envFrom"):
        names |= set(m.engine_env())
    assert names - settings_env_names() == set()


def test_the_gateway_settings_load_and_follow_the_profile() -> None:
    settings = gateway_settings(**valid_secrets())
    assert settings.profile == m.engine_env()["PROFILE"] and not settings.launches_engine
    assert settings.max_num_seqs == int(m.engine_env()["MAX_NUM_SEQS"])
    assert settings.port == m.port_number(m.container(GATEWAY_DEPLOYMENT), "http")


def test_secrets_come_from_the_secret_the_example_describes() -> None:
    (example,) = m.documents(m.SECRET_EXAMPLE)
    spec = m.container(GATEWAY_DEPLOYMENT)
    refs = {i["name"]: i["valueFrom"]["secretKeyRef"] for i in spec["env"] if "valueFrom" in i}
    for name in (field.upper() for field in SECRET_FIELDS):
        ref = refs.get(name)
        assert ref, f"{name} must come from a Secret (secretKeyRef), never a literal value"
        assert ref["name"] == example["metadata"]["name"] and ref["key"] == name
        assert not ref.get("optional") and name in example["stringData"]
    with pytest.raises(ValueError, match="fewer than"):  # the placeholder cannot go live
        gateway_settings(AUDIT_DSN=example["stringData"]["AUDIT_DSN"], API_KEYS="CHANGE-ME")
    assert example["stringData"]["API_KEYS"] == "CHANGE-ME"
    (hf,) = [i for i in m.container(VLLM)["env"] if i["name"] == "HF_TOKEN"]
    assert hf["valueFrom"]["secretKeyRef"] == {
        "name": example["metadata"]["name"], "key": "HF_TOKEN", "optional": True
    }  # fmt: skip


def test_the_gateway_reaches_vllm_through_its_service() -> None:
    (url,) = gateway_settings(**valid_secrets()).engine_urls()
    service = m.one("Service", urlsplit(url).hostname)
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == urlsplit(url).port]
    assert service["spec"]["selector"].items() <= m.pod_labels(m.one("Deployment", VLLM)).items()
    engine_port = m.port_number(m.container(VLLM), port["targetPort"])
    assert engine_port == int(m.flag(m.argv(VLLM, m.engine_env()), "--port"))


def test_the_gateways_admit_what_the_largest_engine_fleet_batches() -> None:
    """Else vLLM's queue stays empty and the autoscaler never sees the demand."""
    gateways = m.one("Deployment", GATEWAY_DEPLOYMENT)["spec"]["replicas"]
    admitted = gateways * gateway_settings(**valid_secrets()).admission_limit()
    engines = m.one("HorizontalPodAutoscaler")["spec"]["maxReplicas"]
    batched = engines * int(m.engine_env()["MAX_NUM_SEQS"])
    assert admitted == batched, (
        f"{gateways} gateways admit {admitted}, the most engines batch {batched}: set "
        f"MAX_IN_FLIGHT in gateway.yaml to {batched / gateways:g}"
    )


# --- references between objects ----------------------------------------------------------------


def test_services_select_one_deployments_pods_on_a_declared_port() -> None:
    deployments = m.named("Deployment")
    for deployment in deployments:
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= m.pod_labels(deployment).items()
    for service in m.named("Service"):
        selector = service["spec"]["selector"].items()
        chosen = [d for d in deployments if selector <= m.pod_labels(d).items()]
        assert len(chosen) == 1, f"Service {service['metadata']['name']} selects {len(chosen)}"
        (spec,) = chosen[0]["spec"]["template"]["spec"]["containers"]
        for port in service["spec"]["ports"]:
            m.port_number(spec, port["targetPort"])


def test_probes_reach_declared_ports_on_paths_that_exist() -> None:
    gateway_paths = gateway_routes()
    expected = {
        VLLM: {"startupProbe": "/health", "readinessProbe": "/health", "livenessProbe": "/health"},
        GATEWAY_DEPLOYMENT: {
            "startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"
        },
    }  # fmt: skip
    for deployment, probes in expected.items():
        spec = m.container(deployment)
        for probe, path in probes.items():
            assert spec[probe]["httpGet"]["path"] == path, f"{deployment} {probe}"
            m.port_number(spec, spec[probe]["httpGet"]["port"])
    assert set(expected[GATEWAY_DEPLOYMENT].values()) <= gateway_paths
    open_paths = gateway_settings(**valid_secrets()).auth_open_paths
    assert {"/healthz", "/readyz", "/metrics"} <= set(open_paths), "the kubelet sends no key"
    assert 'router.get("/health"' in vllm_source("entrypoints/**/health.py")


def test_pods_outlive_their_longest_request_after_sigterm() -> None:
    deadline = float(m.engine_env()["REQUEST_DEADLINE_S"])
    for deployment in m.named("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (spec,) = pod["containers"]
        pause = spec["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] >= pause + deadline


def test_pods_run_as_the_images_non_root_user() -> None:
    for deployment, dockerfile in ((GATEWAY_DEPLOYMENT, GATEWAY), (VLLM, RUNPOD)):
        uid = int(of(dockerfile, "USER", final=True)[-1].value.split(":")[0])
        pod = m.one("Deployment", deployment)["spec"]["template"]["spec"]
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == uid != 0
        assert context["runAsGroup"] == uid and pod["automountServiceAccountToken"] is False
        (spec,) = pod["containers"]
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert m.container(GATEWAY_DEPLOYMENT)["securityContext"]["readOnlyRootFilesystem"] is True


def test_vllm_takes_one_gpu_and_both_images_are_composes() -> None:
    assert m.container(VLLM)["resources"]["limits"]["nvidia.com/gpu"] == 1
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    assert m.container(VLLM)["image"] == compose["vllm"]["image"]
    assert m.container(GATEWAY_DEPLOYMENT)["image"] == compose["gateway"]["image"]


def test_only_the_gateway_and_prometheus_reach_vllm() -> None:
    policy = m.one("NetworkPolicy")
    vllm, gateway = (m.pod_labels(m.one("Deployment", n)) for n in (VLLM, GATEWAY_DEPLOYMENT))
    selected = policy["spec"]["podSelector"]["matchLabels"].items()
    assert selected <= vllm.items() and not selected <= gateway.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    local = [p for p in rule["from"] if "namespaceSelector" not in p]
    assert [p["podSelector"]["matchLabels"].items() <= gateway.items() for p in local] == [True]
    others = [p for p in rule["from"] if "namespaceSelector" in p]
    assert [p["podSelector"]["matchLabels"] for p in others] == [
        {"app.kubernetes.io/name": "prometheus"}
    ]
    for port in rule["ports"]:
        assert m.port_number(m.container(VLLM), port["port"]) == 8100


# --- autoscaling and Prometheus ----------------------------------------------------------------


def prometheus_jobs() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(m.PROMETHEUS.read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_each_prometheus_job_scrapes_one_component_on_its_metrics_port() -> None:
    namespace = m.kustomization()["namespace"]
    shipped = yaml.safe_load((m.PROMETHEUS.parent / "prometheus.yml").read_text())
    assert set(prometheus_jobs()) == {job["job_name"] for job in shipped["scrape_configs"]}
    expected = {"hrstack-gateway": (GATEWAY_DEPLOYMENT, "http"), "vllm": (VLLM, "http")}
    for name, job in prometheus_jobs().items():
        (discovery,) = job["kubernetes_sd_configs"]
        assert discovery["role"] == "pod" and discovery["namespaces"]["names"] == [namespace]
        targets = [
            (d["metadata"]["name"], port)
            for d in m.named("Deployment")
            for meta, port in m.discovered(d, namespace)
            if m.kept(job, meta)
        ]  # fmt: skip
        assert targets == [expected[name]], f"job {name} keeps {targets}"
        assert job["metrics_path"] == "/metrics"
    assert "/metrics" in gateway_routes()
    assert 'Mount("/metrics"' in vllm_source("entrypoints/**/metrics.py")


def test_the_autoscaler_scales_vllm_on_the_queue_the_adapter_publishes() -> None:
    hpa = m.one("HorizontalPodAutoscaler")["spec"]
    ref = hpa["scaleTargetRef"]
    target = m.one(ref["kind"], ref["name"])
    assert ref["name"] == VLLM and target["apiVersion"] == ref["apiVersion"]
    assert "replicas" not in target["spec"], "the autoscaler owns vLLM's replica count"
    (metric,) = hpa["metrics"]
    assert metric["type"] == "Pods" and metric["pods"]["target"]["type"] == "AverageValue"
    (rule,) = yaml.safe_load(m.ADAPTER_VALUES.read_text())["rules"]["custom"]
    assert metric["pods"]["metric"]["name"] == rule["name"]["as"]
    gauge = "vllm:num_requests_waiting"
    assert re.fullmatch(rule["name"]["matches"], gauge)
    assert rule["seriesQuery"].startswith(gauge + "{")
    assert f'name="{gauge}"' in vllm_source("v1/metrics/loggers.py"), "vLLM exports no such gauge"
    overrides = rule["resources"]["overrides"]
    assert {label: o["resource"] for label, o in overrides.items()} == {
        "namespace": "namespace", "pod": "pod"
    }  # fmt: skip
    assert set(overrides) <= m.written_labels(prometheus_jobs()["vllm"])

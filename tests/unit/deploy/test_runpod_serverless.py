"""The RunPod Serverless endpoint: template and endpoint rendered from the pod's fit planning, the
exact GraphQL requests that save them (against a stub), `hrstack deploy runpod-serverless`, and
the image's start script in serverless mode.

``RunPodStub`` is a real ``http.server`` on 127.0.0.1 standing in for
https://api.runpod.io/graphql, which this machine cannot reach: it records each request and
answers the four operations used here the way RunPod's documentation shows. It proves what is
sent, not that RunPod accepts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from hrstack.deploy.cli import app
from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.profile_fit import plan_profile
from hrstack.deploy.runpod_api import (
    LIST_ENDPOINTS,
    LIST_TEMPLATES,
    SAVE_ENDPOINT,
    SAVE_TEMPLATE,
    RunPodError,
    save_endpoint,
)
from hrstack.deploy.runpod_serverless import (
    EndpointConfig,
    ServerlessTemplate,
    endpoint_config,
    render_serverless_template,
)
from hrstack.deploy.runpod_template import profile_env, render_template

IMAGE = "ghcr.io/acme/hrstack:0.1.0"
KEY = "rp_test_key"
START = Path(__file__).resolve().parents[3] / "deploy" / "runpod" / "start.sh"


def render(profile: str = "24gb", **kwargs: Any) -> ServerlessTemplate:
    planned = plan_profile(load_shape("qwen2.5-7b"), profile)
    return render_serverless_template(profile, IMAGE, "24GB", planned, **kwargs)


def env_of(template: Any) -> dict[str, str]:
    return {item.key: item.value for item in template.env}


# --- the template and the endpoint -----------------------------------------------------------


def test_the_template_is_the_pod_image_and_profile_running_the_worker() -> None:
    planned = plan_profile(load_shape("qwen2.5-7b"), "24gb")
    pod = render_template("24gb", IMAGE, "24GB", planned)
    template = render(hf_secret="hf_token")
    env = env_of(template)
    assert template.imageName == pod.imageName == IMAGE
    assert profile_env("24gb").items() <= env.items()  # the fit planning's values, as the pod's
    assert env["MODEL"] == env_of(pod)["MODEL"] == "Qwen/Qwen2.5-7B-Instruct"
    assert env["HRSTACK_MODE"] == "serverless" and env["RUNPOD_LOG_LEVEL"] == "INFO"
    assert env["HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"
    assert "UPSTREAM_TIMEOUT_S" not in env or env["UPSTREAM_TIMEOUT_S"] != "30"  # no proxy here
    data = json.loads(template.model_dump_json())
    assert data["isServerless"] is True and data["volumeInGb"] == 0
    assert data["dockerArgs"] == "" and data["name"] == "hrstack-serverless-24gb"
    assert "ports" not in data and "volumeMountPath" not in data
    assert "$" not in template.readme and "HRSTACK_MODE=serverless" in template.readme


def test_a_network_volume_holds_the_caches_and_a_secret_the_audit_dsn() -> None:
    env = env_of(render(network_volume=True, audit_dsn_secret="audit_dsn"))
    assert env["HRSTACK_VOLUME"] == "/runpod-volume"
    assert env["AUDIT_DSN"] == "{{ RUNPOD_SECRET_audit_dsn }}"
    assert "HRSTACK_VOLUME" not in env_of(render())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"env": [{"key": "PROFILE", "value": "24gb"}]}, "HRSTACK_MODE=serverless"),
        ({"env": [{"key": "HRSTACK_MODE", "value": "serverless"}]}, "PROFILE"),
        ({"volumeInGb": 20}, "Input should be 0"),
        ({"isServerless": False}, "Input should be True"),
        ({"imageName": "ghcr.io/acme/hrstack:latest"}, "explicit version tag"),
        ({"ports": "8000/http"}, "Extra inputs"),
    ],
)
def test_the_template_refuses(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        ServerlessTemplate.model_validate(render().model_dump() | change)


@pytest.mark.parametrize(
    ("profile", "pools"),
    [("16gb", "AMPERE_16"), ("24gb", "AMPERE_24,ADA_24"), ("48gb", "AMPERE_48,ADA_48_PRO"),
     ("80gb", "AMPERE_80,ADA_80_PRO")],
)  # fmt: skip
def test_the_endpoint_runs_on_the_pools_of_the_planned_card_size(profile: str, pools: str) -> None:
    endpoint = endpoint_config(profile, "e")
    assert endpoint.gpuIds == pools
    assert endpoint.model_dump(exclude_none=True) == {
        "name": "e", "gpuIds": pools, "workersMin": 0, "workersMax": 3, "idleTimeout": 60,
    }  # fmt: skip


def test_endpoint_options_and_refusals() -> None:
    options = {"workers_min": 1, "workers_max": 2, "idle_timeout_s": 30, "flashboot": True}
    endpoint = endpoint_config("24gb", "e", gpu_ids="ADA_24", network_volume_id="vol1", **options)
    assert endpoint.as_input("tpl", "ep9") == {
        "name": "e", "gpuIds": "ADA_24", "workersMin": 1, "workersMax": 2, "idleTimeout": 30,
        "networkVolumeId": "vol1", "flashBootType": "FLASHBOOT", "templateId": "tpl", "id": "ep9",
    }  # fmt: skip
    with pytest.raises(ValidationError, match="exceeds workersMax"):
        endpoint_config("24gb", "e", workers_min=4, workers_max=2)
    with pytest.raises(ValidationError, match="not RunPod GPU pool ids"):
        endpoint_config("24gb", "e", gpu_ids="RTX 4090")
    with pytest.raises(ValidationError, match="not RunPod GPU pool ids"):
        endpoint_config("cpu", "e")


# --- the requests, against a stub of RunPod's GraphQL API ------------------------------------


@dataclass
class RunPodStub:
    """Records every request; answers list/save of templates and endpoints like RunPod's docs."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] | None = None

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        query = body["query"]
        if self.errors and "mutation" in query:
            return {"errors": self.errors}
        if "podTemplates" in query:
            return {"data": {"myself": {"podTemplates": self.templates}}}
        if "endpoints" in query:
            return {"data": {"myself": {"endpoints": self.endpoints}}}
        saved = body["variables"]["input"]
        if "saveTemplate" in query:
            template = {"id": saved.get("id", "tpl-new"), "name": saved["name"]}
            return {"data": {"saveTemplate": template | {"imageName": IMAGE}}}
        endpoint = {"id": saved.get("id", "ep-new"), "name": saved["name"]}
        return {"data": {"saveEndpoint": endpoint | {"templateId": saved["templateId"]}}}


@pytest.fixture
def runpod() -> Iterator[RunPodStub]:
    stub = RunPodStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stub.requests.append({"path": self.path, "body": body})
            reply = json.dumps(stub.answer(body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def deploy(runpod: RunPodStub, *args: str) -> Any:
    argv = ["runpod-serverless", "--gpu", "24GB", "--image", IMAGE, *args]
    env = {"RUNPOD_API_KEY": KEY, "RUNPOD_API_URL": runpod.url}
    return CliRunner().invoke(app, argv, env=env)


def test_the_command_creates_the_template_then_the_endpoint_on_it(runpod: RunPodStub) -> None:
    done = deploy(runpod, "--workers-max", "2", "--network-volume", "vol1")
    assert done.exit_code == 0, done.output
    assert "created template hrstack-serverless-24gb (id tpl-new)" in done.stdout
    assert "created endpoint hrstack-serverless-24gb (id ep-new)" in done.stdout
    assert [r["body"]["query"] for r in runpod.requests] == [
        LIST_TEMPLATES, SAVE_TEMPLATE, LIST_ENDPOINTS, SAVE_ENDPOINT,
    ]  # fmt: skip
    assert all(r["path"] == f"/graphql?api_key={KEY}" for r in runpod.requests)
    template = runpod.requests[1]["body"]["variables"]["input"]
    planned = plan_profile(load_shape("qwen2.5-7b"), "24gb", 24.0)
    expected = render("24gb", network_volume=True)
    expected_readme = render_serverless_template("24gb", IMAGE, "24GB", planned,
                                                 network_volume=True).readme  # fmt: skip
    assert template == expected.model_dump() | {"readme": expected_readme}
    assert template["isServerless"] is True and "id" not in template
    assert runpod.requests[3]["body"]["variables"]["input"] == {
        "name": "hrstack-serverless-24gb", "gpuIds": "AMPERE_24,ADA_24", "workersMin": 0,
        "workersMax": 2, "idleTimeout": 60, "networkVolumeId": "vol1", "templateId": "tpl-new",
    }  # fmt: skip
    assert "$input: EndpointInput!" in SAVE_ENDPOINT


def test_the_same_names_are_updated_in_place(runpod: RunPodStub) -> None:
    runpod.templates = [{"id": "tpl-7", "name": "hrstack-serverless-24gb"}]
    runpod.endpoints = [
        {"id": "x", "name": "other"},
        {"id": "ep-3", "name": "hrstack-serverless-24gb"},
    ]
    done = deploy(runpod)
    assert done.exit_code == 0, done.output
    assert "updated template" in done.stdout and "updated endpoint" in done.stdout
    assert runpod.requests[1]["body"]["variables"]["input"]["id"] == "tpl-7"
    endpoint = runpod.requests[3]["body"]["variables"]["input"]
    assert endpoint["id"] == "ep-3" and endpoint["templateId"] == "tpl-7"


def test_a_refused_mutation_is_reported_and_exits_1(runpod: RunPodStub) -> None:
    runpod.errors = [{"message": "gpuIds: unknown pool"}]
    done = deploy(runpod)
    assert done.exit_code == 1 and "RunPod refused the request: gpuIds: unknown pool" in done.stdout
    assert KEY not in done.output


def test_save_endpoint_refuses_an_empty_key() -> None:
    with pytest.raises(RunPodError, match="RUNPOD_API_KEY is empty"):
        save_endpoint(EndpointConfig(name="e", gpuIds="AMPERE_24"), "tpl", "")


def test_dry_run_prints_both_and_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    argv = ["runpod-serverless", "--gpu", "80GB", "--image", IMAGE, "--dry-run", "--flashboot"]
    done = CliRunner().invoke(app, argv)
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["template"]["isServerless"] is True
    assert {"key": "PROFILE", "value": "80gb"} in data["template"]["env"]
    assert data["endpoint"]["gpuIds"] == "AMPERE_80,ADA_80_PRO"
    assert data["endpoint"]["flashBootType"] == "FLASHBOOT"
    assert "--audit-dsn-secret" in done.stderr  # decisions on a worker's disk go with it


@pytest.mark.parametrize(
    ("gpu", "words"), [("12GB", "no engine profile fits a GPU with 12.0 GiB"), ("cpu", "GPU cards")]
)
def test_a_card_no_profile_fits_is_a_usage_error(gpu: str, words: str) -> None:
    done = CliRunner().invoke(app, ["runpod-serverless", "--gpu", gpu, "--image", IMAGE])
    assert done.exit_code == 2 and words in done.output


# --- the image's start script ----------------------------------------------------------------


def run_start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "HRSTACK_VOLUME": str(tmp_path / "volume"),
        "HRSTACK_PYTHON": sys.executable,
        "HRSTACK_DRY_RUN": "1",
        "PROFILE": "cpu",
        "EMBEDDED_MODEL": "smollm2-135m",
    }
    return subprocess.run(["bash", str(START)], env=base | env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_start_script_runs_the_worker_in_serverless_mode(tmp_path: Path) -> None:
    done = run_start(tmp_path, HRSTACK_MODE="serverless")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FITS:" in done.stdout  # the same preflight as a pod
    assert f"dry run: exec {sys.executable} -m hrstack.deploy.serverless" in done.stdout
    unknown = run_start(tmp_path, HRSTACK_MODE="worker")
    assert unknown.returncode == 2 and "expected serve" in unknown.stderr

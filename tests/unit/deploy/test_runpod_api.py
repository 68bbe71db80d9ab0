"""The exact GraphQL requests sent to RunPod, checked against a local HTTP test double.

``FakeRunPod`` is a real ``http.server`` on 127.0.0.1 (a free port) standing in for
https://api.runpod.io/graphql, which this machine cannot reach. It records each request and
answers like RunPod's documented API does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.profile_fit import plan_profile
from hrstack.deploy.runpod_api import LIST_TEMPLATES, SAVE_TEMPLATE, RunPodError, save_template
from hrstack.deploy.runpod_template import PodTemplate, render_template

KEY = "rp_test_key"


@dataclass
class FakeRunPod:
    """Test double for RunPod's GraphQL endpoint."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    errors: list[dict[str, str]] | None = None

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.errors:
            return {"errors": self.errors}
        if "podTemplates" in body["query"]:
            return {"data": {"myself": {"podTemplates": self.templates}}}
        saved = body["variables"]["input"]
        return {"data": {"saveTemplate": {"id": saved.get("id", "new123"), "name": saved["name"],
                                          "imageName": saved["imageName"]}}}  # fmt: skip


@pytest.fixture
def runpod() -> Iterator[FakeRunPod]:
    fake = FakeRunPod()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            body = json.loads(raw)
            parts = urlsplit(self.path)
            fake.requests.append({
                "path": parts.path, "query": parse_qs(parts.query), "body": body,
                "content_type": self.headers["Content-Type"],
            })  # fmt: skip
            reply = json.dumps(fake.answer(body)).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def template() -> PodTemplate:
    planned = plan_profile(load_shape("qwen2.5-7b"), "24gb")
    return render_template("24gb", "ghcr.io/acme/hrstack:0.1.0", "24GB", planned)


def test_creates_a_new_template_with_the_exact_request(runpod: FakeRunPod) -> None:
    saved = save_template(template(), KEY, url=runpod.url)
    assert saved.created and saved.id == "new123" and saved.name == "hrstack-24gb"
    lookup, save = runpod.requests
    for request in (lookup, save):
        assert request["path"] == "/graphql"
        assert request["query"] == {"api_key": [KEY]}
        assert request["content_type"] == "application/json"
    assert lookup["body"] == {"query": LIST_TEMPLATES}
    assert save["body"]["query"] == SAVE_TEMPLATE
    assert "$input: SaveTemplateInput!" in save["body"]["query"]
    assert save["body"]["variables"] == {"input": template().model_dump()}
    sent = save["body"]["variables"]["input"]
    assert "id" not in sent and sent["isServerless"] is False and sent["ports"] == "8000/http"
    assert {"key": "PROFILE", "value": "24gb"} in sent["env"]


def test_updates_the_template_of_the_same_name(runpod: FakeRunPod) -> None:
    runpod.templates = [{"id": "other", "name": "x"}, {"id": "tpl42", "name": "hrstack-24gb"}]
    saved = save_template(template(), KEY, url=runpod.url)
    assert not saved.created and saved.id == "tpl42"
    assert runpod.requests[1]["body"]["variables"]["input"]["id"] == "tpl42"


def test_graphql_errors_are_reported(runpod: FakeRunPod) -> None:
    runpod.errors = [{"message": "Template name must be unique"}]
    with pytest.raises(RunPodError, match="Template name must be unique"):
        save_template(template(), KEY, url=runpod.url)


def test_rejected_key_is_explained_without_leaking_it(runpod: FakeRunPod) -> None:
    runpod.status = 401
    with pytest.raises(RunPodError, match="RUNPOD_API_KEY") as caught:
        save_template(template(), KEY, url=runpod.url)
    assert KEY not in str(caught.value)


def test_unreachable_api_does_not_leak_the_key() -> None:
    with pytest.raises(RunPodError, match="could not reach") as caught:
        save_template(template(), KEY, url="http://127.0.0.1:9/graphql", timeout_s=2)
    assert KEY not in str(caught.value)


def test_empty_key_is_refused_before_any_request() -> None:
    with pytest.raises(RunPodError, match="RUNPOD_API_KEY is empty"):
        save_template(template(), "")

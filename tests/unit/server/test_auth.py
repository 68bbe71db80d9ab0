"""API keys: 401 without one, both header forms accepted, open paths configurable, YAML refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hrstack.server.auth import ApiKeys, presented_key
from hrstack.server.settings import Settings
from hrstack.validators.config import configs_dir
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

KEY = "k" * 24
OTHER = "o" * 24
BODY = {"job_description": A.JD_TEXT}


def test_keys_match_in_constant_time_and_only_exactly():
    keys = ApiKeys([SecretStr(KEY), SecretStr(OTHER)])
    assert keys.allows(KEY) and keys.allows(OTHER)
    assert not keys.allows(KEY[:-1]) and not keys.allows(KEY + "k") and not keys.allows(None)
    assert not keys.allows("")
    assert ApiKeys([]).allows(None), "no keys configured: auth is off"


def test_presented_key_reads_bearer_or_x_api_key():
    assert presented_key({"authorization": f"Bearer {KEY}"}) == KEY
    assert presented_key({"authorization": f"bearer  {KEY} "}) == KEY
    assert presented_key({"x-api-key": KEY}) == KEY
    assert presented_key({"authorization": f"Basic {KEY}"}) is None
    assert presented_key({}) is None


def test_task_routes_need_a_key_and_nothing_reaches_the_engine(make_client):
    engine = FakeEngine([A.ATS_OK])
    client = make_client(engine, api_keys=[KEY])
    for headers in ({}, {"Authorization": "Bearer wrong-key-wrong-key"}, {"X-API-Key": OTHER}):
        response = client.post("/v1/ats-keywords", json=BODY, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["X-Request-ID"]
    assert engine.payloads == []
    ok = client.post("/v1/ats-keywords", json=BODY, headers={"X-API-Key": KEY})
    assert ok.status_code == 200, ok.text
    assert client.get("/v1/domains").status_code == 401
    assert client.get("/v1/nope").status_code == 401, "unknown paths do not reveal themselves"


def test_probes_are_open_by_default_and_can_be_closed(make_client):
    client = make_client(FakeEngine([]), api_keys=[KEY])
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code != 401, path
    closed = make_client(FakeEngine([]), api_keys=[KEY], auth_open_paths=["/healthz"])
    assert closed.get("/healthz").status_code == 200
    assert closed.get("/metrics").status_code == 401
    assert closed.get("/metrics", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_failures_are_counted(make_client):
    client = make_client(FakeEngine([]), api_keys=[KEY])
    client.post("/v1/ats-keywords", json=BODY)
    assert "hrstack_auth_failures_total 1.0" in client.get("/metrics").text


def test_openapi_declares_the_key_schemes(make_client):
    schema = make_client(FakeEngine([]), api_keys=[KEY]).get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert "security" not in schema["paths"]["/v1/rank"]["post"]  # the global rule applies


def test_keys_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("API_KEYS", f"{KEY},{OTHER}")
    settings = Settings(upstream_urls=["http://u"])
    assert [k.get_secret_value() for k in settings.api_keys] == [KEY, OTHER]
    assert KEY not in repr(settings), "keys never show up in logs of the settings"


def test_short_keys_are_refused():
    with pytest.raises(ValidationError, match="fewer than 16 characters"):
        Settings(upstream_urls=["http://u"], api_keys=["short"])


def test_keys_in_serve_yaml_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "configs"
    shutil.copytree(configs_dir(), target)
    (target / "serve.yaml").write_text(f"port: 8000\napi_keys: {KEY}\n")
    monkeypatch.setenv("HRSTACK_CONFIGS_DIR", str(target))
    with pytest.raises(ValueError, match="secrets come from the environment only"):
        Settings()

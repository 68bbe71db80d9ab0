"""Bad input gets 422 naming the field and the reason; nothing reaches the engine."""

from __future__ import annotations

import pytest

from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

CASES = [
    ("missing field", "/v1/resume-guidance", {}, "body.resume"),
    ("empty string", "/v1/resume-guidance", {"resume": "   "}, "body.resume"),
    ("oversized", "/v1/ats-keywords", {"job_description": "x" * 20_001}, "body.job_description"),
    ("wrong type", "/v1/match", {"job_description": 5, "resume": "r"}, "body.job_description"),
    ("unknown field", "/v1/job-description", {"title": "t", "salary": 1}, "body.salary"),
    ("title too long", "/v1/job-description", {"title": "t" * 201}, "body.title"),
    ("both rank shapes", "/v1/rank", {"job_description": "jd", "candidate": "c",
                                      "candidates": [{"id": "a", "resume": "r"}]}, "body"),
    ("no rank candidate", "/v1/rank", {"job_description": "jd"}, "body"),
    ("duplicate ids", "/v1/rank", {"job_description": "jd", "candidates": [
        {"id": "a", "resume": "r"}, {"id": "a", "resume": "s"}]}, "body"),
    ("empty batch", "/v1/rank", {"job_description": "jd", "candidates": []}, "body.candidates"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_body_is_422_with_field_and_reason(make_client, path, body, param):
    engine = FakeEngine([])
    response = make_client(engine).post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"] and error["details"]
    assert engine.payloads == []


def test_non_json_body_is_422(make_client):
    client = make_client(FakeEngine([]))
    response = client.post(
        "/v1/ats-keywords", content=b"not json{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"].startswith("body")


def test_bad_query_parameter_is_422(make_client):
    client = make_client(FakeEngine([]))
    response = client.post("/v1/ats-keywords?max_attempts=0", json={"job_description": A.JD_TEXT})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "query.max_attempts"


def test_unknown_route_uses_the_same_error_shape(make_client):
    response = make_client(FakeEngine([])).get("/v1/nope")
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"message", "type", "param", "code"}

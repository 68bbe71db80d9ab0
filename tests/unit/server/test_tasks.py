"""Task endpoints: seeding, validate-and-retry, strict mode and responses, over a fake engine."""

from __future__ import annotations

import pytest

from hrstack.server.errors import UpstreamTimeout, UpstreamUnavailable
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

SEEDED = [
    ("/v1/resume-guidance", {"resume": A.RESUME_TEXT, "target_role": "Data Analyst"}, A.RESUME_OK),
    ("/v1/recruiting-strategy", {"role": "Backend Engineer"}, A.STRATEGY_OK),
    ("/v1/ats-keywords", {"job_description": A.JD_TEXT}, A.ATS_OK),
]


@pytest.mark.parametrize(("path", "body", "reply"), SEEDED, ids=[s[0] for s in SEEDED])
def test_seeded_domains_send_prefix_without_space_and_answer_starts_with_seed(
    make_client, path, body, reply
):
    engine = FakeEngine([reply])
    response = make_client(engine).post(path, json=body)
    assert response.status_code == 200, response.text
    payload = engine.payloads[0]
    assert payload["messages"][-1] == {"role": "assistant", "content": "1."}
    assert payload["continue_final_message"] is True
    assert payload["add_generation_prompt"] is False
    out = response.json()
    assert out["text"].startswith("1. ") and not out["text"].startswith("1.  ")
    assert out["valid"] is True and out["validation"]["ok"] is True
    assert out["attempts"] == 1


def test_continuation_without_leading_space_still_shows_one_seed(make_client):
    engine = FakeEngine([A.RESUME_OK.lstrip()])
    out = make_client(engine).post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT}).json()
    assert out["text"].startswith("1. Quantify")


def test_unseeded_domain_sends_generation_prompt(make_client):
    engine = FakeEngine([A.JD_OK])
    out = make_client(engine).post("/v1/job-description", json={"title": "Data Engineer"}).json()
    payload = engine.payloads[0]
    assert payload["messages"][-1]["role"] == "user"
    assert "continue_final_message" not in payload
    assert out["valid"] is True
    assert set(out["sections"]) >= {"responsibilities", "requirements"}


def test_failed_answer_is_retried_with_a_new_seed_and_usage_summed(make_client):
    engine = FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK])
    response = make_client(engine).post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT})
    out = response.json()
    assert out["attempts"] == 2 and out["valid"] is True
    assert engine.payloads[0]["seed"] != engine.payloads[1]["seed"]
    assert out["usage"] == {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
    assert out["items"][0].startswith("Quantify")


def test_answer_failing_every_attempt_is_never_labelled_valid(make_client):
    engine = FakeEngine([A.JD_NO_REQUIREMENTS] * 3)
    out = make_client(engine).post("/v1/job-description", json={"title": "Data Engineer"}).json()
    assert out["attempts"] == 3
    assert out["valid"] is False and out["validation"]["ok"] is False
    assert out["validation"]["failed"]
    assert all(
        c["ok"] == (c["name"] not in out["validation"]["failed"])
        for c in out["validation"]["checks"]
    )


def test_max_attempts_query_lowers_the_budget(make_client):
    engine = FakeEngine([A.JD_NO_REQUIREMENTS] * 3)
    client = make_client(engine)
    out = client.post("/v1/job-description?max_attempts=1", json={"title": "Data Engineer"}).json()
    assert out["attempts"] == 1 and len(engine.payloads) == 1


@pytest.mark.parametrize("how", ["query", "header"])
def test_strict_mode_turns_final_failure_into_422_with_report(make_client, how):
    engine = FakeEngine([A.JD_NO_REQUIREMENTS] * 3)
    client = make_client(engine)
    kwargs = (
        {"params": {"strict": "true"}} if how == "query" else {"headers": {"X-HRStack-Strict": "1"}}
    )
    response = client.post("/v1/job-description", json={"title": "Data Engineer"}, **kwargs)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "answer_failed_validation"
    report = error["reports"][0]["validation"]
    assert report["ok"] is False and report["failed"]


def test_strict_mode_passes_valid_answers(make_client):
    engine = FakeEngine([A.MATCH_OK])
    response = make_client(engine).post(
        "/v1/match?strict=true", json={"job_description": A.JD_TEXT, "resume": A.RESUME_TEXT}
    )
    assert response.status_code == 200
    out = response.json()
    assert out["valid"] and out["strengths"] and out["gaps"]
    assert out["score"] == 45, "the guard caps 72: the resume misses Airflow and Spark"


def test_fixed_seed_is_sent_to_the_engine(make_client):
    engine = FakeEngine([A.ATS_OK])
    make_client(engine).post("/v1/ats-keywords?seed=1234", json={"job_description": A.JD_TEXT})
    assert engine.payloads[0]["seed"] == 1234


def test_request_text_is_wrapped_as_data_in_the_prompt(make_client):
    engine = FakeEngine([A.MATCH_OK])
    resume = "6 years of Python and SQL at Acme. Led a data team of 4."  # nothing to redact
    make_client(engine).post("/v1/match", json={"job_description": A.JD_TEXT, "resume": resume})
    user = engine.payloads[0]["messages"][1]["content"]
    assert f"<resume>\n{resume}\n</resume>" in user
    assert f"<job_description>\n{A.JD_TEXT}\n</job_description>" in user


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UpstreamUnavailable("down", headers={"Retry-After": "5"}), 503),
        (UpstreamTimeout("slow"), 504),
    ],
)
def test_upstream_errors_become_typed_error_responses(make_client, error, status):
    client = make_client(FakeEngine([error]))
    response = client.post("/v1/ats-keywords", json={"job_description": A.JD_TEXT})
    assert response.status_code == status
    assert response.json()["error"]["type"] in {"upstream_unavailable", "upstream_timeout"}
    if status == 503:
        assert response.headers["Retry-After"] == "5"
    # the process keeps serving
    assert client.get("/healthz").status_code == 200


def test_request_id_is_echoed(make_client):
    client = make_client(FakeEngine([A.ATS_OK]))
    response = client.post(
        "/v1/ats-keywords", json={"job_description": A.JD_TEXT}, headers={"X-Request-ID": "abc123"}
    )
    assert response.headers["X-Request-ID"] == "abc123" and response.json()["id"] == "abc123"


def test_request_fields_are_the_validator_context(make_client):
    """ATS keywords copied from the prompt's example are caught against the posting."""
    copied = " Python\n2. SQL\n3. Data modeling\n4. Tableau\n5. Excel"
    engine = FakeEngine([copied])
    posting = "Nurse, ICU. Requirements: RN license, BLS, ACLS, acute care, night shifts."
    out = (
        make_client(engine)
        .post("/v1/ats-keywords?max_attempts=1", json={"job_description": posting})
        .json()
    )
    check = next(c for c in out["validation"]["checks"] if c["name"] == "keywords_from_input")
    assert check["ok"] is False and "not found" in check["detail"]
    assert out["valid"] is False


def _resume_retry(tmp_path, mode: str):
    """The shipped domain table with resume_guidance's retry set to ``mode``."""
    import yaml

    from hrstack.validators.config import configs_dir

    table = yaml.safe_load((configs_dir() / "domains.yaml").read_text())
    table["resume_guidance"]["retry"] = mode
    path = tmp_path / f"domains-{mode}.yaml"
    path.write_text(yaml.safe_dump(table))
    return path


def test_a_retry_is_a_repair_that_shows_the_failed_answer_and_checks(make_client, tmp_path):
    engine = FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK])
    client = make_client(engine, domains_file=_resume_retry(tmp_path, "repair"))
    out = client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT}).json()
    assert out["valid"] is True and out["attempts"] == 2
    first, second = engine.payloads
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert second["messages"][2]["content"].startswith("1. 1. 1.")  # its own failed answer
    assert "min_items" in second["messages"][3]["content"]  # and what failed, with details
    assert second["messages"][:2] == first["messages"][:2]
    assert second["structured_outputs"] == first["structured_outputs"]  # still constrained
    history = out["attempt_history"]
    assert [(a["attempt"], a["mode"]) for a in history] == [(1, "first"), (2, "repair")]
    assert "min_items" in history[0]["failed"] and history[0]["details"]["min_items"]
    assert history[1]["failed"] == [] and all(a["constrained"] for a in history)


def test_a_repair_that_would_not_fit_the_context_is_a_reseed(make_client, tmp_path):
    table = _resume_retry(tmp_path, "repair")
    probe = FakeEngine([A.RESUME_OK], context=100_000)
    make_client(probe, domains_file=table).post(
        "/v1/resume-guidance", json={"resume": A.RESUME_TEXT}
    )
    size = probe.prompt_size_of(probe.payloads[0])
    # Room for the prompt and the answer budget, but not for a 200-token repair turn.
    engine = FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK], context=size + 1024 + 8 + 50)
    client = make_client(engine, domains_file=table)
    out = client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT}).json()
    assert [a["mode"] for a in out["attempt_history"]] == ["first", "reseed"]
    assert engine.payloads[1]["messages"] == engine.payloads[0]["messages"]


def test_retry_reseed_in_the_table_asks_the_same_prompt_again(make_client, tmp_path):
    engine = FakeEngine([A.RESUME_DEGENERATE, A.RESUME_OK])
    client = make_client(engine, domains_file=_resume_retry(tmp_path, "reseed"))
    out = client.post("/v1/resume-guidance", json={"resume": A.RESUME_TEXT}).json()
    assert [a["mode"] for a in out["attempt_history"]] == ["first", "reseed"]
    assert engine.payloads[1]["messages"] == engine.payloads[0]["messages"]
    assert engine.payloads[0]["seed"] != engine.payloads[1]["seed"]

"""Schemathesis against the gateway's own OpenAPI document: no 5xx, no undocumented status.

The app runs in-process with a scripted engine (answers that pass, answers that fail, so the
retry and strict paths are exercised), with API keys on and a small admission limit. Every
generated request (valid and invalid bodies, queries, headers) must get a status the document
lists for that operation, a body matching its schema, and never a 5xx: with an engine that
always answers, a 5xx can only be a gateway bug.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from hrstack.server.app import create_app
from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains
from hrstack.validators.config import configs_dir
from tests.realdocs import max_bodies
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine, gateway_settings

KEY = "fuzz-key-0123456789abcdef"
ANSWERS = {
    "resume_guidance": A.RESUME_OK,
    "job_description": A.JD_OK,
    "job_resume_match": A.MATCH_OK,
    "recruiting_strategy": A.STRATEGY_OK,
    "ats_keywords": A.ATS_OK,
    "rank": A.RANK_OK,
}


def _engine() -> FakeEngine:
    domains = load_domains(configs_dir() / "domains.yaml")
    by_prompt = {domains[name].system_prompt: name for name in domains.names()}
    calls = iter(range(10**9))

    def reply(payload: dict[str, Any]) -> str:
        domain = by_prompt.get(payload["messages"][0]["content"], "rank")
        # Every third answer is broken: retries, best-attempt and strict 422s get fuzzed too.
        return A.RANK_BROKEN if next(calls) % 3 == 2 else ANSWERS[domain]

    # Sized like a served 8,192-token context, so long generated bodies reach the
    # context_length_exceeded 422 as they would on the real stack.
    return FakeEngine(reply, context=8192)


def _app(audit_dir: Path) -> Any:
    values: Settings = gateway_settings(
        api_keys=[KEY], max_in_flight=4, audit_log_path=audit_dir / "rank.jsonl"
    )
    return create_app(values, engine=_engine())


#: Status codes seen, per operation, for the summary test at the end of this module.
SEEN: Counter[tuple[str, int]] = Counter()
AUDIT_DIR = Path(__import__("tempfile").mkdtemp(prefix="hrstack-fuzz-"))
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(AUDIT_DIR))


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_only_documented_statuses(case: schemathesis.Case) -> None:
    # positive_data_acceptance expects 2xx for every schema-valid request; strict mode answers a
    # schema-valid request whose *answer* failed validation with the documented 422, on purpose.
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=[positive_data_acceptance]
    )
    SEEN[(f"{case.method} {case.path}", response.status_code)] += 1


MAX_BODIES = max_bodies()


@pytest.mark.parametrize("path", sorted(MAX_BODIES))
def test_maximum_length_bodies_get_documented_answers_never_a_5xx(path: str) -> None:
    """Every field at its maximum length (20,000-character documents): the generator above
    rarely reaches the limits, so they are sent explicitly through the same checks."""
    case = schema[path]["POST"].Case(body=MAX_BODIES[path], query={"max_attempts": 1})
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=[positive_data_acceptance]
    )
    SEEN[(f"POST {path}", response.status_code)] += 1
    assert response.status_code in (200, 422), response.text[:300]
    if path in ("/v1/match", "/v1/rank"):  # two 20,000-character documents: ~10k tokens
        assert response.json()["error"]["code"] == "context_length_exceeded"
    if response.status_code == 422 and "fields" in response.json()["error"]:
        assert all(f["tokens"] > 0 for f in response.json()["error"]["fields"])


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_without_a_key_nothing_but_open_paths_answers(case: schemathesis.Case) -> None:
    response = case.call()
    if case.path in {"/healthz", "/readyz", "/metrics", "/openapi.json", "/playground"}:
        assert response.status_code != 401
    else:
        assert response.status_code == 401, response.text


def test_fuzz_summary() -> None:
    """Runs last: the counts behind the report (HRSTACK_FUZZ_OUT writes them as JSON)."""
    if not SEEN:
        return  # the fuzz tests were deselected
    by_status = Counter(status for (_, status), n in SEEN.items() for _ in range(n))
    summary = {"requests": sum(SEEN.values()), "by_status": dict(sorted(by_status.items()))}
    print("\nschemathesis:", json.dumps(summary))
    if out := os.environ.get("HRSTACK_FUZZ_OUT"):
        Path(out).write_text(json.dumps(summary, indent=2))
    assert not [status for status in by_status if status >= 500 and status != 503]

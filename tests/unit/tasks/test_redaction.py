"""Protected attributes are redacted before ranking; the map stays out of prompt and response."""

from __future__ import annotations

import json

import pytest

from hrstack.server.settings import Settings
from hrstack.tasks.redaction import REDACTION_CATEGORIES, Redactor
from hrstack.validators import load_rules
from tests.unit.server import answers as A
from tests.unit.server.conftest import FakeEngine

TERMS = load_rules().rank.protected_terms
POSTING = "Data Analyst at Acme. Requirements: SQL, Tableau, Excel."
RESUME = (
    "Jane Roe. jane.roe@example.com | +1 (555) 123-4567 | https://linkedin.com/in/janeroe\n"
    "Data analyst with 4 years at Northwind (2019-2023). She is 34 years old, married and a "
    "practising Catholic. Date of birth: 12/03/1990. Nationality: Irish. Pronouns: she/her.\n"
    "Jane built Tableau dashboards for 40 store managers at American Express."
)
PRIVATE = ["Jane", "Roe", "jane.roe", "555", "linkedin", "She ", "34", "married", "Catholic",
           "1990", "Irish", "she/her"]  # fmt: skip


def redact(text: str, categories=REDACTION_CATEGORIES, posting: str = POSTING):
    return Redactor(categories, TERMS).redact(text, posting)


def test_every_category_is_redacted_and_job_facts_survive():
    out = redact(RESUME)
    for private in PRIVATE:
        assert private not in out.text, private
    for fact in ("4 years", "Northwind", "2019-2023", "Tableau", "40 store managers",
                 "American Express"):  # fmt: skip
        assert fact in out.text, fact
    assert out.counts() == {
        "url": 1, "contact": 2, "age": 2, "name": 3, "gender": 2, "nationality": 1,
        "marital_status": 1, "religion": 1,
    }  # fmt: skip


def test_a_job_title_at_the_top_is_not_taken_for_a_name():
    out = redact("Senior Data Engineer\nPython and SQL. He led a team of 4.", posting="")
    assert out.text.startswith("Senior Data Engineer") and "[GENDER] led" in out.text


def test_name_from_a_label_and_from_a_title():
    assert "Priya" not in redact("Name: Priya Natarajan\nSQL", posting="").text
    assert "Okafor" not in redact("References: Dr. Chidi Okafor.", posting="").text


def test_categories_are_configurable():
    out = redact(RESUME, categories=["contact"])
    assert "Jane" in out.text and "jane.roe@example.com" not in out.text
    assert set(out.counts()) == {"contact"}


def test_settings_accept_categories_and_off(monkeypatch):
    monkeypatch.setenv("REDACT_CATEGORIES", "name,contact")
    assert Settings(upstream_urls=["http://u"]).redact_categories == ["name", "contact"]
    monkeypatch.setenv("REDACT_CATEGORIES", "none")
    assert Settings(upstream_urls=["http://u"]).redact_categories == []
    with pytest.raises(ValueError, match="unknown redaction categories"):
        Settings(upstream_urls=["http://u"], redact_categories=["shoe_size"])


def _rank(client, **params):
    body = {"job_description": POSTING, "candidate": RESUME, "candidate_id": "c-1"}
    return client.post("/v1/rank", json=body, params=params)


def test_the_model_reads_the_redacted_text_and_the_client_gets_counts(make_client, tmp_path):
    reply = json.dumps(
        {"decision": "shortlist", "score": 0.8, "reasons": ["Built Tableau dashboards",
                                                          "4 years at Northwind"]}
    )  # fmt: skip
    engine = FakeEngine([reply])
    client = make_client(engine)
    response = _rank(client)
    (result,) = response.json()["results"]
    prompt = json.dumps(engine.payloads[0]["messages"])  # what the model reads
    for private in PRIVATE:
        assert private not in prompt, private
    assert "[NAME]" in prompt
    assert result["redacted"]["name"] == 3 and result["redactions"] is None
    assert result["valid"], result["validation"]
    assert "Jane" not in response.text
    audit = (tmp_path / "audit" / "rank.jsonl").read_text()
    assert '"redacted":{' in audit and "Jane" not in audit and "Catholic" not in audit


def test_the_map_is_returned_only_when_asked(make_client):
    client = make_client(FakeEngine([A.RANK_OK]))
    (result,) = _rank(client, include_redactions="true", max_attempts=1).json()["results"]
    originals = {item["original"] for item in result["redactions"]}
    assert {"Jane", "Roe", "married"} <= originals


def test_redaction_off_sends_the_text_as_is(make_client):
    engine = FakeEngine([A.RANK_OK])
    (result,) = _rank(make_client(engine, redact_categories=[]), max_attempts=1).json()["results"]
    assert "Jane Roe" in engine.payloads[0]["messages"][1]["content"]
    assert result["redacted"] == {}

"""Inputs sized in tokens: what does not fit the served context is a 422 naming each field with
its token count (or, by policy, cut from its end), never a 5xx and never engine time spent.

The fake engine sizes prompts at a token per 4 characters; the real /tokenize path is checked
against vLLM in tests/integration/test_long_inputs.py."""

from __future__ import annotations

import asyncio

from hrstack.server.engine import PromptSize
from hrstack.server.sizing import cut_end, fit
from tests.unit.server import answers as A
from tests.unit.server.conftest import VALID_RANK, FakeEngine

CONTEXT = 4096
LONG_JD = "Requirements: 5+ years of SQL and Tableau.\n" * 400  # ~17,600 chars, ~4,400 "tokens"


def test_over_long_input_is_a_422_naming_fields_and_token_counts(make_client):
    engine = FakeEngine([A.ATS_OK], context=CONTEXT)
    response = make_client(engine).post("/v1/ats-keywords", json={"job_description": LONG_JD})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["param"] == "body.job_description"
    assert error["max_model_len"] == CONTEXT
    assert error["prompt_tokens"] > CONTEXT - error["answer_tokens"]
    assert error["fields"] == [
        {
            "param": "body.job_description",
            "tokens": len(LONG_JD.strip()) // 4,
            "chars": len(LONG_JD.strip()),
        }
    ]
    assert "body.job_description" in error["message"] and "tokens" in error["message"]
    assert engine.payloads == []  # refused before any generation


def test_prompt_that_fits_but_leaves_no_room_for_the_answer_is_refused(make_client):
    """vLLM would clamp max_tokens silently and cut the rank JSON off; the gateway refuses."""
    engine = FakeEngine([VALID_RANK], context=CONTEXT)
    client = make_client(engine)
    # ~3,500 tokens of prompt: under the context, over it with rank's answer budget.
    body = {"job_description": "Python and SQL. " * 500, "candidate": "Python developer. " * 400}
    response = client.post("/v1/rank", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["prompt_tokens"] < CONTEXT < error["prompt_tokens"] + error["answer_tokens"]
    params = [f["param"] for f in error["fields"]]
    assert params[:2] == ["body.job_description", "body.candidate"]
    assert "generated.evidence" in params


def test_batch_rank_names_the_candidate_that_does_not_fit(make_client):
    engine = FakeEngine(lambda payload: VALID_RANK, context=CONTEXT)
    body = {
        "job_description": "Data analyst. Requirements: SQL, Tableau.",
        "candidates": [
            {"id": "a", "resume": "SQL analyst, 4 years of Tableau."},
            {"id": "b", "resume": "Analyst with SQL. " * 1000},
        ],
    }
    response = make_client(engine).post("/v1/rank", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == "body.candidates[1].resume"


def test_truncate_policy_cuts_the_longest_field_from_its_end_and_says_so(make_client):
    engine = FakeEngine(lambda payload: A.ATS_OK, context=CONTEXT)
    client = make_client(engine, input_overflow="truncate")
    response = client.post("/v1/ats-keywords", json={"job_description": LONG_JD})
    assert response.status_code == 200, response.text
    flags = [f for f in response.json()["flags"] if f["kind"] == "input_truncated"]
    assert [f["field"] for f in flags] == ["job_description"]
    sent = engine.payloads[0]["messages"][1]["content"]
    assert len(sent) < len(LONG_JD) and sent.count("5+ years of SQL") > 100
    chars = sum(len(m["content"]) for m in engine.payloads[0]["messages"])
    assert chars // 4 + 10 + 120 <= CONTEXT  # fits with the ATS answer budget (120 tokens)


def test_inputs_that_fit_are_sent_unchanged(make_client):
    engine = FakeEngine([A.ATS_OK], context=CONTEXT)
    response = make_client(engine).post("/v1/ats-keywords", json={"job_description": A.JD_TEXT})
    assert response.status_code == 200
    assert A.JD_TEXT.strip() in engine.payloads[0]["messages"][1]["content"]
    assert not [f for f in response.json()["flags"] if f["kind"] == "input_truncated"]


def test_an_engine_that_cannot_size_prompts_is_not_a_reason_to_refuse():
    class Unsized(FakeEngine):
        async def prompt_size(self, payload):
            return None

    fitted = asyncio.run(
        fit(
            Unsized(),
            lambda f: {"messages": []},
            {"resume": "x" * 90_000},
            model="m",
            domain="resume_guidance",
            answer_tokens=512,
            policy="refuse",
        )
    )
    assert fitted.fields == {"resume": "x" * 90_000} and fitted.flags == []


def test_truncation_that_cannot_fit_refuses():
    class Stubborn(FakeEngine):
        async def prompt_size(self, payload):
            return PromptSize(9000, CONTEXT)  # the template alone overflows

    engine = Stubborn(context=CONTEXT)
    try:
        asyncio.run(
            fit(
                engine,
                lambda f: {"messages": []},
                {"title": "Engineer"},
                model="m",
                domain="job_description",
                answer_tokens=512,
                policy="truncate",
            )
        )
    except Exception as exc:
        assert type(exc).__name__ == "InputTooLong"
        assert exc.param == "body.title"  # type: ignore[attr-defined]
    else:
        raise AssertionError("an input that cannot be cut to fit must be refused")


def test_cut_end_keeps_the_start_and_ends_at_a_break():
    text = "Summary line.\nRole one: did things. Role two: more things.\nHobbies: chess."
    cut = cut_end(text, 50)
    assert text.startswith(cut) and len(cut) <= 50
    assert cut.endswith((".", "things"))
    assert cut_end(text, 1000) == text

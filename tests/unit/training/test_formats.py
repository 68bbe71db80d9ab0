"""Converters into ChatML rows, and the rejection of malformed rows with file, line, reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrstack.tasks.domains import DomainTable
from hrstack.tasks.prompts import render_user_message
from hrstack.training.formats import MalformedRow, read_examples, read_rows, write_examples


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_alpaca_rows_become_chatml_with_the_production_system_prompt(tmp_path, domains):
    path = write_jsonl(tmp_path / "a.jsonl", [
        {"instruction": "Improve this resume.", "input": "Jane, analyst", "output": "1. Add SQL"},
    ])  # fmt: skip
    [row], errors = read_rows(path, "alpaca", domains, "resume_guidance")
    assert not errors
    assert [m.role for m in row.messages] == ["system", "user", "assistant"]
    assert row.messages[0].content == domains["resume_guidance"].system_prompt
    assert row.messages[1].content == "Improve this resume.\n\nJane, analyst"
    assert (row.domain, row.source, row.fields) == ("resume_guidance", "original", None)


def test_prompt_completion_accepts_strings_and_message_lists(tmp_path, domains):
    path = write_jsonl(tmp_path / "pc.jsonl", [
        {"prompt": "Plan hiring", "completion": "1. Post the job", "domain": "recruiting_strategy"},
        {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
         "completion": [{"role": "assistant", "content": "A"}], "domain": "rank"},
    ])  # fmt: skip
    rows, errors = read_rows(path, "prompt_completion", domains)
    assert not errors
    assert rows[0].messages[-1].content == "1. Post the job"
    assert rows[1].messages[0].content == "S"  # an explicit system prompt is kept


def test_sharegpt_roles_are_mapped(tmp_path, domains):
    path = write_jsonl(tmp_path / "s.jsonl", [{"domain": "ats_keywords", "conversations": [
        {"from": "human", "value": "Keywords?"}, {"from": "gpt", "value": "1. SQL"},
        {"from": "human", "value": "More"}, {"from": "gpt", "value": "1. Python"}]}])  # fmt: skip
    [row], _ = read_rows(path, "sharegpt", domains)
    assert [m.role for m in row.messages] == ["system", "user", "assistant", "user", "assistant"]


def test_production_shaped_user_messages_recover_their_fields(tmp_path, domains: DomainTable):
    fields = {"job_description": "Data Analyst\n- SQL"}
    user = render_user_message(domains["ats_keywords"], fields)
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": "1. SQL"}]
    path = write_jsonl(tmp_path / "c.jsonl", [{"domain": "ats_keywords", "messages": messages}])
    [row], _ = read_rows(path, "chatml", domains)
    assert row.fields == fields


MALFORMED = [
    ("not json at all", "chatml", "Expecting value"),
    ('["a list"]', "chatml", "expected a JSON object, got list"),
    ({"messages": [{"role": "user", "content": "hi"}]}, "chatml", "end with the assistant"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "q"}]},
     "chatml", "alternate user/assistant"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "robot", "content": "a"}]},
     "chatml", "bad message"),
    ({"instruction": "x"}, "alpaca", "'output' must be a non-empty string"),
    ({"instruction": "x", "output": "y", "domain": "astrology"}, "alpaca", "not one of"),
    ({"prompt": "", "completion": "y"}, "prompt_completion", "'prompt' must be"),
    ({"conversations": [{"from": "alien", "value": "x"}]}, "sharegpt", "unknown 'from'"),
    ({"messages": [{"role": "user", "content": " "}, {"role": "assistant", "content": "a"}]},
     "chatml", "only whitespace"),
]  # fmt: skip


GOOD = {
    "chatml": {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    },
    "alpaca": {"instruction": "q", "output": "a"},
    "prompt_completion": {"prompt": "q", "completion": "a"},
    "sharegpt": {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
}


@pytest.mark.parametrize(("row", "fmt", "reason"), MALFORMED)
def test_malformed_rows_report_file_line_and_reason(tmp_path, domains, row, fmt, reason):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[fmt], row])
    rows, errors = read_rows(path, fmt, domains, default_domain="recruiting_strategy")
    assert len(rows) == 1 and len(errors) == 1
    error = errors[0]
    assert (error.file, error.line) == (str(path), 2)
    assert reason in error.reason and error.reason.startswith(fmt)
    assert str(error).startswith(f"{path}:2: ")


def test_rows_without_any_domain_are_rejected(tmp_path, domains):
    path = write_jsonl(tmp_path / "nodomain.jsonl", [{"instruction": "q", "output": "a"}])
    _, [error] = read_rows(path, "alpaca", domains)
    assert "no domain" in error.reason


def test_strict_mode_stops_at_the_first_bad_row(tmp_path, domains):
    path = write_jsonl(tmp_path / "bad.jsonl", ["{", {"instruction": "q", "output": "a"}])
    with pytest.raises(MalformedRow, match=r"bad.jsonl:1: "):
        read_rows(path, "alpaca", domains, "rank", strict=True)


def test_written_rows_read_back_identically(tmp_path, domains):
    path = write_jsonl(tmp_path / "a.jsonl", [{"instruction": "q", "output": "a"}])
    rows, _ = read_rows(path, "alpaca", domains, "rank")
    write_examples(tmp_path / "out.jsonl", rows)
    assert read_examples(tmp_path / "out.jsonl") == rows

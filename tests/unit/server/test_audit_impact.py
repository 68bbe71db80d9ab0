"""`hrstack audit impact`: selection rates and impact ratios by group, four-fifths flags."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from hrstack.server.audit.impact import UNKNOWN, decisions_from, impact
from hrstack.server.audit.log import AuditLog
from hrstack.server.cli import app


def _records(groups: dict[str, tuple[int, int]]) -> tuple[list[dict], dict[str, dict[str, str]]]:
    """``{group: (decided, shortlisted)}`` -> audit records and a demographics table."""
    records, people = [], {}
    for group, (decided, selected) in groups.items():
        for n in range(decided):
            cid = f"{group}-{n}"
            decision = "shortlist" if n < selected else "reject"
            records.append({"candidate_id": cid, "decision": decision,
                            "validation": {"ok": True}, "job_hash": "j1"})  # fmt: skip
            people[cid] = {"candidate_id": cid, "gender": group, "race": "A" if n % 2 else "B"}
    return records, people


def test_rates_ratios_and_the_four_fifths_flag():
    records, people = _records({"F": (50, 10), "M": (50, 20)})
    report = impact(decisions_from(records), people, "gender")
    by_group = {g.group: g for g in report.groups}
    assert by_group["M"].rate == 0.4 and by_group["M"].impact_ratio == 1.0
    assert by_group["F"].rate == 0.2 and by_group["F"].impact_ratio == 0.5
    assert by_group["F"].four_fifths_flag and not by_group["M"].four_fifths_flag
    assert report.warnings == []


def test_small_groups_warn_and_unknowns_stay_out_of_the_ratios():
    records, people = _records({"F": (40, 20), "X": (5, 0)})
    records.append({"candidate_id": "nobody", "decision": "shortlist", "validation": {}})
    report = impact(decisions_from(records), people, "gender")
    by_group = {g.group: g for g in report.groups}
    assert by_group["X"].small_sample and by_group["X"].impact_ratio == 0.0
    assert by_group[UNKNOWN].impact_ratio is None and report.unmatched == 1
    assert any("X: 5 decisions" in w for w in report.warnings)
    assert any("no row in the demographics" in w for w in report.warnings)


def test_intersections_and_filters():
    records, people = _records({"F": (40, 20), "M": (40, 20)})
    records.append({"candidate_id": "F-0", "decision": None})  # unparseable answer: skipped
    records.append({"candidate_id": "F-1", "decision": "reject", "validation": {"ok": False}})
    report = impact(decisions_from(records, valid_only=True), people, "gender+race")
    assert {g.group for g in report.groups} == {"F / A", "F / B", "M / A", "M / B"}
    assert report.decisions == 80
    assert decisions_from(records, job_hash="other") == []


def test_cli_reads_rotated_logs_and_prints_json(tmp_path: Path):
    records, people = _records({"F": (30, 6), "M": (30, 15)})
    log_path = tmp_path / "rank.jsonl"
    log = AuditLog(log_path, max_bytes=4096)
    for record in records:
        log.append([record])
    log.close()
    csv_path = tmp_path / "people.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["candidate_id", "gender", "race"])
        writer.writeheader()
        writer.writerows(people.values())
    args = ["audit", "impact", "--log", str(log_path), "--demographics", str(csv_path)]
    result = CliRunner().invoke(app, [*args, "--by", "gender", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["decisions"] == 60
    female = next(g for g in report["groups"] if g["group"] == "F")
    assert female["impact_ratio"] == 0.4 and female["four_fifths_flag"] is True
    table = CliRunner().invoke(app, [*args, "--by", "gender", "--by", "gender+race"])
    assert table.exit_code == 0 and "< 4/5" in table.output and "small n" in table.output
    verify = CliRunner().invoke(app, ["audit", "verify", "--log", str(log_path)])
    assert json.loads(verify.output)["records"] == 60


def test_cli_names_a_missing_key_column(tmp_path: Path):
    (tmp_path / "people.csv").write_text("id,gender\n1,F\n")
    (tmp_path / "rank.jsonl").write_text("")
    result = CliRunner().invoke(app, ["audit", "impact", "--log", str(tmp_path / "rank.jsonl"),
                                      "--demographics", str(tmp_path / "people.csv"),
                                      "--by", "gender"])  # fmt: skip
    assert result.exit_code != 0 and "candidate_id" in result.output


def test_match_selects_interview_and_keeps_to_its_own_records(tmp_path: Path):
    """One log holds both decisions: --domain match counts only match records, and only an
    "interview" is a selection ("consider" did not put the candidate forward)."""
    records, people = _records({"F": (30, 6), "M": (30, 15)})  # rank records, no domain key
    words = {"F-0": "interview", "F-1": "consider", "F-2": "reject", "M-0": "interview",
             "M-1": "interview", "M-2": "consider"}  # fmt: skip
    matches = [{"candidate_id": cid, "decision": word, "domain": "job_resume_match",
                "validation": {"ok": True}} for cid, word in words.items()]  # fmt: skip
    log_path = tmp_path / "rank.jsonl"
    log = AuditLog(log_path, max_bytes=1 << 20)
    log.append([*records, *matches])
    log.close()
    assert decisions_from(matches + records, domain="job_resume_match") == [
        ("F-0", True), ("F-1", False), ("F-2", False), ("M-0", True), ("M-1", True),
        ("M-2", False),
    ]  # fmt: skip
    assert len(decisions_from(matches + records)) == 60, "rank's count ignores match records"
    csv_path = tmp_path / "people.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["candidate_id", "gender", "race"])
        writer.writeheader()
        writer.writerows(people.values())
    args = ["audit", "impact", "--log", str(log_path), "--demographics", str(csv_path)]
    result = CliRunner().invoke(app, [*args, "--by", "gender", "--json", "--domain", "match"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    rates = {g["group"]: (g["decided"], g["selected"]) for g in report["groups"]}
    assert rates == {"F": (3, 1), "M": (3, 2)}
    wrong = CliRunner().invoke(app, [*args, "--by", "gender", "--domain", "hire"])
    assert wrong.exit_code != 0 and "rank, match" in wrong.output

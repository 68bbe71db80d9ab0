"""`hrstack audit`: read the decision log (rank and match).

hrstack audit impact --log runs/audit/rank.jsonl --demographics people.csv --by gender \\
    --by race --by gender+race          # selection rates, impact ratios, four-fifths flags
hrstack audit impact ... --domain match  # the same for /v1/match's interview recommendations
hrstack audit verify --log runs/audit/rank.jsonl   # every hash chain; exit 1 if one breaks
hrstack audit verify --dsn postgresql://...        # the same for the shared PostgreSQL table
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hrstack.server.audit.chain import verify
from hrstack.server.audit.impact import ImpactReport, decisions_from, impact
from hrstack.server.audit.log import rotated_files
from hrstack.server.audit.sinks import stored_records

app = typer.Typer(help="The decision audit log (rank and match).", no_args_is_help=True)
#: --domain's names: the route's, as users know them.
DOMAIN_NAMES = {"rank": "rank", "match": "job_resume_match"}
LogOption = Annotated[
    Path | None, typer.Option("--log", help="The audit log file (AUDIT_LOG_PATH).")
]
DsnOption = Annotated[
    str | None,
    typer.Option("--dsn", envvar="AUDIT_DSN", help="The audit database (AUDIT_DSN)."),
]


def _records(log: Path | None, dsn: str | None) -> Iterator[dict[str, Any]]:
    if (log is None) == (dsn is None):
        raise typer.BadParameter("give exactly one of --log (a file) or --dsn (PostgreSQL)")
    return stored_records(log, dsn)


def load_demographics(path: Path, key: str) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or key not in reader.fieldnames:
            raise typer.BadParameter(
                f"{path} has no {key!r} column (columns: {reader.fieldnames}); pass --key"
            )
        return {row[key]: row for row in reader}


def _table(report: ImpactReport) -> Table:
    table = Table(title=f"by {report.by}: {report.decisions} decisions")
    for column in ("group", "decided", "selected", "selection rate", "impact ratio", "flags"):
        table.add_column(column, justify="left" if column in ("group", "flags") else "right")
    for g in report.groups:
        flags = [name for name, on in (("< 4/5", g.four_fifths_flag), ("small n", g.small_sample))
                 if on]  # fmt: skip
        ratio = "-" if g.impact_ratio is None else f"{g.impact_ratio:.2f}"
        table.add_row(g.group, str(g.decided), str(g.selected), f"{g.rate:.1%}", ratio,
                      ", ".join(flags))  # fmt: skip
    return table


@app.command("impact")
def impact_command(
    demographics: Annotated[Path, typer.Option(help="CSV with a candidate id column.")],
    by: Annotated[list[str], typer.Option(help="Column to group by; a+b for intersections.")],
    key: Annotated[str, typer.Option(help="The id column of the CSV.")] = "candidate_id",
    min_group: Annotated[int, typer.Option(help="Smaller groups get a warning.")] = 30,
    job_hash: Annotated[str | None, typer.Option(help="Only decisions for this job.")] = None,
    valid_only: Annotated[bool, typer.Option(help="Only answers that passed validation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    domain: Annotated[
        str,
        typer.Option(help="rank (selected = shortlist) or match (selected = interview)."),
    ] = "rank",
    log: LogOption = None,
    dsn: DsnOption = None,
) -> None:
    """Selection rates and impact ratios by group; ratios under 0.8 are flagged."""
    if domain not in DOMAIN_NAMES:
        names = ", ".join(DOMAIN_NAMES)
        raise typer.BadParameter(f"--domain must be one of {names}, not {domain!r}")
    people = load_demographics(demographics, key)
    decisions = decisions_from(
        _records(log, dsn), job_hash=job_hash, valid_only=valid_only, domain=DOMAIN_NAMES[domain]
    )
    reports = [impact(decisions, people, column, min_group=min_group) for column in by]
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
        return
    console = Console()
    for report in reports:
        console.print(_table(report))
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("verify")
def verify_command(log: LogOption = None, dsn: DsnOption = None) -> None:
    """Check every writer's hash chain: a deleted, reordered or edited record is named (exit 1).
    Prints each chain's head; keep them to detect a cut-off tail later."""
    try:
        result = verify(_records(log, dsn))
    except ValueError as exc:  # a line that is not JSON
        typer.echo(json.dumps({"ok": False, "problems": [str(exc)]}))
        raise typer.Exit(1) from exc
    report: dict[str, Any] = {
        "ok": result.ok,
        "records": result.records,
        "unchained_v1_records": result.unchained,
        "chains": {w: dataclasses.asdict(head) for w, head in result.chains.items()},
        "problems": [dataclasses.asdict(p) for p in result.problems],
    }
    if log is not None:
        torn = log.with_name(log.name + ".torn")
        report["files"] = [str(f) for f in [*rotated_files(log), log] if f.exists()]
        report["torn_fragments"] = torn.read_bytes().count(b"\n") if torn.exists() else 0
    typer.echo(json.dumps(report, indent=2))
    if not result.ok:
        raise typer.Exit(1)

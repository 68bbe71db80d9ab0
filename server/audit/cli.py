"""`hrstack audit`: read the decision log (rank and match).

hrstack audit impact --log runs/audit/rank.jsonl --demographics people.csv --by gender \\
    --by race --by gender+race          # selection rates, impact ratios, four-fifths flags
hrstack audit impact ... --domain match  # the same for /v1/match's interview recommendations
hrstack audit verify --log runs/audit/rank.jsonl   # lines, files, torn tail
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from server.audit.impact import ImpactReport, decisions_from, impact
from server.audit.log import read_records, rotated_files

app = typer.Typer(help="The decision audit log (rank and match).", no_args_is_help=True)
#: --domain's names: the route's, as users know them.
DOMAIN_NAMES = {"rank": "rank", "match": "job_resume_match"}
LogOption = Annotated[Path, typer.Option("--log", help="The audit log (AUDIT_LOG_PATH).")]


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
    log: LogOption,
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
) -> None:
    """Selection rates and impact ratios by group; ratios under 0.8 are flagged."""
    if domain not in DOMAIN_NAMES:
        names = ", ".join(DOMAIN_NAMES)
        raise typer.BadParameter(f"--domain must be one of {names}, not {domain!r}")
    people = load_demographics(demographics, key)
    decisions = decisions_from(
        read_records(log), job_hash=job_hash, valid_only=valid_only, domain=DOMAIN_NAMES[domain]
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
def verify_command(log: LogOption) -> None:
    """Count records per file; fail if a line is not JSON."""
    files = [*rotated_files(log), log]
    total = sum(1 for _ in read_records(log))
    torn = log.with_name(log.name + ".torn")
    typer.echo(
        json.dumps(
            {
                "records": total,
                "files": [str(f) for f in files if f.exists()],
                "torn_fragments": torn.read_bytes().count(b"\n") if torn.exists() else 0,
            }
        )
    )

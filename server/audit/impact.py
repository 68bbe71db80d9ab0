"""Selection rates and impact ratios by group, from the audit log and a demographics table.

The method of a bias audit (NYC Local Law 144, the EEOC's four-fifths rule): for each group,
selection rate = selected / decided (rank: shortlisted; match: recommended for interview);
impact ratio = that rate / the highest group's rate. A ratio under 0.8 is flagged as possible
adverse impact. Groups with fewer than ``min_group`` decisions are reported with a small-sample
warning: with 10 people one decision moves a rate by ten points, so a ratio there is noise, not
evidence. Candidates whose group is not given are counted under ``(unknown)`` and kept out of
the ratios, as LL144 audits do.

Demographics never enter the log or the model: they are joined here, by candidate id, from a
file the auditor supplies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "(unknown)"


@dataclass(frozen=True, slots=True)
class GroupStat:
    group: str
    decided: int
    selected: int
    rate: float
    impact_ratio: float | None
    four_fifths_flag: bool
    small_sample: bool


@dataclass(slots=True)
class ImpactReport:
    by: str
    groups: list[GroupStat]
    decisions: int
    unmatched: int
    warnings: list[str] = field(default_factory=list)


#: Per audited domain: the decisions it makes, and the one that selects (puts a candidate
#: forward). A match's "consider" is not a selection: the tool did not put the candidate forward.
OUTCOMES: dict[str, tuple[tuple[str, ...], str]] = {
    "rank": (("shortlist", "reject"), "shortlist"),
    "job_resume_match": (("interview", "consider", "reject"), "interview"),
}


def decisions_from(
    records: Iterable[Mapping[str, Any]],
    *,
    job_hash: str | None = None,
    valid_only: bool = False,
    domain: str = "rank",
) -> list[tuple[str, bool]]:
    """(candidate id, selected) per decision record of ``domain`` (records written before
    match was audited carry no domain: they are rank's); records without a decision are
    skipped."""
    decided, selects = OUTCOMES[domain]
    out = []
    for record in records:
        if record.get("domain", "rank") != domain or record.get("decision") not in decided:
            continue
        if job_hash is not None and record.get("job_hash") != job_hash:
            continue
        if valid_only and not record.get("validation", {}).get("ok", False):
            continue
        out.append((str(record.get("candidate_id")), record["decision"] == selects))
    return out


def group_of(row: Mapping[str, str] | None, columns: list[str]) -> str:
    """``"F"`` for one column, ``"F / Hispanic"`` for an intersection; unknown if any is blank."""
    if row is None:
        return UNKNOWN
    values = [(row.get(column) or "").strip() for column in columns]
    return UNKNOWN if not all(values) else " / ".join(values)


def impact(
    decisions: list[tuple[str, bool]],
    demographics: Mapping[str, Mapping[str, str]],
    by: str,
    *,
    min_group: int = 30,
    threshold: float = 0.8,
) -> ImpactReport:
    """The report for one grouping; ``by`` is a column or ``col1+col2`` for an intersection."""
    columns = by.split("+")
    decided: Counter[str] = Counter()
    selected: Counter[str] = Counter()
    unmatched = 0
    for candidate_id, shortlisted in decisions:
        row = demographics.get(candidate_id)
        unmatched += row is None
        group = group_of(row, columns)
        decided[group] += 1
        selected[group] += shortlisted
    rates = {g: selected[g] / decided[g] for g in decided}
    known = [rate for g, rate in rates.items() if g != UNKNOWN]
    best = max(known, default=0.0)
    report = ImpactReport(by, [], len(decisions), unmatched)
    for group in sorted(decided, key=lambda g: (g == UNKNOWN, g)):
        ratio = None if group == UNKNOWN or best == 0 else rates[group] / best
        small = decided[group] < min_group
        report.groups.append(
            GroupStat(group, decided[group], selected[group], rates[group], ratio,
                      ratio is not None and ratio < threshold, small)
        )  # fmt: skip
        if small and group != UNKNOWN:
            report.warnings.append(
                f"{by}={group}: {decided[group]} decisions (< {min_group}); its impact ratio is "
                "not statistically meaningful"
            )
    if best == 0 and known:
        report.warnings.append(f"{by}: no group had anyone shortlisted; ratios are undefined")
    if unmatched:
        report.warnings.append(
            f"{unmatched} decisions have no row in the demographics file (counted as {UNKNOWN})"
        )
    return report

"""Recognition rates of the evidence reader on tests/evidence_corpus.py, per format.

    python -m tests.evidence_corpus_report          # the table (make bench prints it too)

Postings: per format, the share of postings whose every stated must-have was read, any
must-have was read, recall and precision of the must-haves read (the field the years are asked
in counts as a correct extra where the synonym table names it), and the years read right.
Careers: per layout, relevant years within 0.15 of the facts, and the flags raised against
the flags expected (none on ordinary careers; the planted one on planted ones).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from hrstack.validators.evidence import extract
from hrstack.validators.evidence_rules import load_evidence_rules
from tests import evidence_corpus as corpus

TODAY = date(corpus.YEAR, 12, 1)


def posting_rates() -> dict[str, dict[str, Any]]:
    rules = load_evidence_rules()
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case in corpus.postings():
        evidence = extract(case.text, " ".join(case.must), today=TODAY, rules=rules)
        read = {r.name.casefold() for r in evidence.must_have if r.checkable}
        stated = {m.casefold() for m in case.must}
        t = tallies[case.format]
        t["n"] += 1
        t["all"] += stated <= read
        t["any"] += bool(read & stated)
        t["tp"] += len(read & stated)
        t["fp"] += len(read - stated - {case.area.casefold()})
        t["fn"] += len(stated - read)
        t["years"] += evidence.years_required == case.years
    return {fmt: _rates(t) for fmt, t in tallies.items()} | {"all": _rates(_sum(tallies))}


def _sum(tallies: dict[str, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for t in tallies.values():
        for key, value in t.items():
            total[key] += value
    return total


def _rates(t: dict[str, int]) -> dict[str, Any]:
    n = t["n"]
    return {
        "postings": n,
        "all_must_read": t["all"] / n,
        "any_must_read": t["any"] / n,
        "recall": t["tp"] / max(1, t["tp"] + t["fn"]),
        "precision": t["tp"] / max(1, t["tp"] + t["fp"]),
        "years_read": t["years"] / n,
    }


def career_rates() -> dict[str, dict[str, Any]]:
    rules = load_evidence_rules()
    out: dict[str, dict[str, Any]] = {}
    for case in corpus.careers():
        evidence = extract(case.job, case.text, today=TODAY, rules=rules)
        flags = tuple(sorted({f.kind for f in evidence.flags}))
        row = out.setdefault(case.format, {"cvs": 0, "years_ok": 0, "flags_as_expected": 0,
                                           "flagged": 0, "planted": bool(case.flags)})  # fmt: skip
        row["cvs"] += 1
        years = evidence.years_relevant
        row["years_ok"] += years is not None and abs(years - case.years) <= 0.15
        row["flags_as_expected"] += flags == tuple(sorted(case.flags))
        row["flagged"] += bool(flags)
    return out


def markdown() -> str:
    lines = ["| posting format | n | every must-have read | any read | recall | precision | "
             "years read |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for fmt, r in posting_rates().items():
        lines.append(f"| {fmt} | {r['postings']} | {r['all_must_read']:.0%} | "
                     f"{r['any_must_read']:.0%} | {r['recall']:.2f} | {r['precision']:.2f} | "
                     f"{r['years_read']:.0%} |")  # fmt: skip
    lines += ["", "| CV layout | n | years right | flags as expected | flagged |",
              "|---|---|---|---|---|"]  # fmt: skip
    for fmt, r in career_rates().items():
        lines.append(
            f"| {fmt} | {r['cvs']} | {r['years_ok']}/{r['cvs']} | "
            f"{r['flags_as_expected']}/{r['cvs']} | {r['flagged']}/{r['cvs']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

"""The shape of one audit record: enough to reconstruct and review a decision, no raw PII.

The resume and job text are not stored, only their SHA-256 (``input_hash`` over both, and
``job_hash`` for grouping decisions by job), so a record can be matched to the documents the
employer keeps without the log becoming a second copy of every resume. Redactions are counted
by category, never listed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from hrstack.server.protocol import MatchResponse, RankResult


def sha256(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"


def decision_record(
    result: RankResult,
    *,
    request_id: str,
    model: str,
    prompt_version: str,
    job_description: str,
    resume: str,
) -> dict[str, Any]:
    return {
        "domain": "rank",
        "request_id": request_id,
        "candidate_id": result.candidate_id,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "model": model,
        "prompt_version": prompt_version,
        "input_hash": sha256(job_description, resume),
        "job_hash": sha256(job_description),
        "decision": result.decision,
        "score": result.score,
        "status": result.status,
        "overrides": [o.model_dump() for o in result.overrides],
        "reasons": result.reasons,
        "flags": [flag.model_dump() for flag in result.flags],
        "redacted": result.redacted,
        "validation": {"ok": result.valid, "failed": result.validation.failed},
        "attempts": result.attempts,
    }


def match_record(
    response: MatchResponse,
    *,
    model: str,
    prompt_version: str,
    job_description: str,
    resume: str,
) -> dict[str, Any]:
    """A /v1/match answer as the log keeps it: rank's record, with match's 0-100 score, its
    decision (interview / consider / reject, after guards) and its lines as reasons."""
    return {
        "domain": "job_resume_match",
        "request_id": response.id,
        "candidate_id": response.candidate_id,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "model": model,
        "prompt_version": prompt_version,
        "input_hash": sha256(job_description, resume),
        "job_hash": sha256(job_description),
        "decision": response.decision,
        "score": response.score,
        "status": response.status,
        "overrides": [o.model_dump() for o in response.overrides],
        "reasons": [*response.strengths, *response.gaps, *filter(None, [response.recommendation])],
        "flags": [flag.model_dump() for flag in response.flags],
        "redacted": response.redacted,
        "validation": {"ok": response.valid, "failed": response.validation.failed},
        "attempts": response.attempts,
    }

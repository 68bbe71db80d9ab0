"""Result types shared by every domain validator.

A validator is a pure function ``(text, rules, context) -> ValidationResult``. It never raises on
model output (any string is a legal input) and it never does I/O: the server, the training
evaluation and the GRPO rewards call the very same function, so what training gates on is what
production enforces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Check:
    """One named rule and its outcome; ``detail`` says why it failed (or what was seen)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Every check of one answer. ``ok`` is derived, so it can never disagree with the checks."""

    domain: str
    checks: tuple[Check, ...]
    parsed: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "failed": self.failed,
        }


class Validator(Protocol):
    """The shape every domain validator has.

    ``rules`` is the domain's section of ``configs/validators.yaml`` as a typed model;
    ``context`` carries request text that some rules compare against (the rank grounding check
    needs the job description and the candidate).
    """

    def __call__(
        self, text: str, rules: Any, context: Mapping[str, str] | None = None
    ) -> ValidationResult: ...

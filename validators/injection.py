"""Prompt-injection and hidden-text patterns: the pure matching shared by gateway and evidence.

The gateway (server/untrusted.py) screens request text with these patterns and neutralizes
what they find; the rank evidence extractor (validators/evidence.py) flags the same findings
for human verification. One definition, so a phrase the gateway removes is a phrase the
evidence reports, and no second list drifts from the first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MARKER = "[removed: instruction-like text]"
_I = re.IGNORECASE
#: Instructions addressed to the model: the sentence holding one is replaced when neutralizing.
#: Verbs and objects are narrow on purpose: "bypass the rules" or "act as a liaison" are lines
#: of real resumes, and removing a real achievement would itself move the decision.
DIRECTIVES: dict[str, re.Pattern[str]] = {
    "ignore_instructions": re.compile(
        r"\b(ignore|disregard|forget)\b[^.!?\n]{0,40}?\b(previous|prior|above|earlier|all|any|"
        r"your|the|these|those|system|original)\b[^.!?\n]{0,40}?\b(instructions?|prompts?|rules|"
        r"directions|guidelines)\b",
        _I,
    ),
    "role_override": re.compile(
        r"\b(you are now|you must now|from now on,? you|pretend (to be|you are)|new instructions?"
        r"\s*:)",
        _I,
    ),
    "verdict_command": re.compile(
        r"\b(shortlist|hire|select|advance|approve|rank) (me|this (candidate|applicant|resume|"
        r"person))\b|\b(give|assign|award) (me|this (candidate|applicant|resume)) (a |the )?"
        r"(perfect |maximum |max |top |highest )?(score|rating)\b|\b(score|rate) (me|this "
        r"(candidate|applicant|resume)) (as |at )?(a )?(10|100|1\.0|1|perfect|top|maximum)\b",
        _I,
    ),
}
#: Suspicious but also found in honest text (an AI engineer writes "system prompts"): flagged only.
SUSPICIOUS: dict[str, re.Pattern[str]] = {
    "model_jargon": re.compile(r"\b(system prompts?|developer mode|jailbreak|DAN mode)\b", _I),
    "answer_json": re.compile(r"\"(decision|score|reasons)\"\s*:", _I),
    "chat_markup": re.compile(r"<\|[a-z_]{1,20}\|>|\[/?INST\]|<</?SYS>>", _I),
}

#: Invisible characters that are routine in pasted text; a few of them are not a flag.
ROUTINE_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\ufeff")
ROUTINE_MAX = 2


def invisible_characters(text: str) -> tuple[str, list[str]]:
    """``text`` without format/control characters (newlines and tabs kept), and those removed."""
    removed = [c for c in text if unicodedata.category(c) in ("Cf", "Cc") and c not in "\n\r\t"]
    if not removed:
        return text, []
    gone = set(removed)
    return "".join(c for c in text if c not in gone), removed


def hides_text(removed: list[str]) -> bool:
    """More than a routine handful of invisible characters, or any unusual one."""
    unusual = [c for c in removed if c not in ROUTINE_INVISIBLE]
    return bool(unusual) or len(removed) > ROUTINE_MAX


def smuggled_text(removed: list[str]) -> str:
    """ASCII spelled in Unicode tag characters (U+E0020..U+E007E), a known smuggling trick."""
    return "".join(chr(ord(c) - 0xE0000) for c in removed if 0xE0020 <= ord(c) <= 0xE007E)


def directive_matches(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """Instructions addressed to the model, by pattern name."""
    for name, pattern in DIRECTIVES.items():
        for match in pattern.finditer(text):
            yield name, match


def suspicious_matches(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """Model-directed phrasing that honest text also uses: flagged, never removed."""
    for name, pattern in SUSPICIOUS.items():
        for match in pattern.finditer(text):
            yield name, match

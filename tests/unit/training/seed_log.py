"""The field log's checks (../shared/seeds/hr-training-validation-checkpoints.md), transcribed.

Counts are (passed, total). Steps 1100-1400 are missing from the log; 1300 and 1400 are the
only resume counts consistent with the 3-check averages it prints at 1500 (75.0%) and 1600
(73.9%), so they are reconstructed, and JD is taken as 30/40 there as at every logged step.
Match, recruiting and ATS are 100% throughout ("Others: 100%").
"""

from __future__ import annotations

RESUME_1000_3100 = {
    1000: 43, 1300: 49, 1400: 43, 1500: 43, 1600: 47, 1700: 46, 1800: 47, 1900: 52, 2000: 45,
    2100: 47, 2200: 48, 2300: 46, 2400: 45, 2500: 50, 2600: 48, 2700: 48, 2800: 53, 2900: 49,
    3000: 47, 3100: 45,
}  # fmt: skip
RECONSTRUCTED = {1300, 1400}

#: The log's printed resume 3-check averages (%, one decimal) and its save/blocked status.
LOGGED_1000_3100 = {
    1000: (71.7, False), 1500: (75.0, True), 1600: (73.9, False), 1700: (75.6, True),
    1800: (77.8, True), 1900: (80.6, True), 2000: (80.0, True), 2100: (80.0, True),
    2200: (77.8, True), 2300: (78.3, True), 2400: (77.2, True), 2500: (78.3, True),
    2600: (79.4, True), 2700: (81.1, True), 2800: (82.8, True), 2900: (83.3, True),
    3000: (82.8, True), 3100: (78.3, True),
}  # fmt: skip

#: Steps 100-900 (stratified): resume and JD passes; the log's status (None: warmup).
EARLY = {
    100: (48, 32, None), 200: (51, 35, None), 300: (38, 36, None), 400: (51, 36, True),
    500: (49, 37, True), 600: (49, 34, True), 700: (42, 34, False), 800: (42, 31, False),
    900: (38, 30, False),
}  # fmt: skip


def counts(resume: int, jd: int) -> dict[str, tuple[int, int]]:
    return {
        "resume_guidance": (resume, 60),
        "job_description": (jd, 40),
        "job_resume_match": (40, 40),
        "recruiting_strategy": (30, 30),
        "ats_keywords": (30, 30),
    }

"""Rules pinned for the validator tests.

Tests construct their own rules instead of reading configs/validators.yaml, so tuning a
threshold in YAML never breaks a test that is about behaviour (the YAML has its own test).
"""

from __future__ import annotations

import pytest

from hrstack.validators import ValidatorRules

PROTECTED = {
    "gender": ["she", "he", "his", "her", "non-binary"],
    "age": ["young", "years old"],
    "religion": ["catholic"],
}

TEST_RULES = ValidatorRules.model_validate(
    {
        "resume_guidance": {
            "min_items": 3,
            "min_ats_keywords": 1,
            "min_commas": 5,
            "min_chars": 80,
            "max_chars": 1000,
            "max_items": 6,
            "max_item_chars": 120,
            "max_ats_keywords": 8,
            "max_ats_keyword_chars": 30,
        },
        "job_description": {
            "min_bullets": 2,
            "min_chars": 100,
            "max_chars": 2000,
            "max_bullets": 5,
            "max_bullet_chars": 100,
            "max_summary_chars": 160,
            "max_optional_sections": 1,
        },
        "job_resume_match": {
            "min_strengths": 2,
            "min_gaps": 1,
            "min_chars": 80,
            "max_chars": 1500,
            "max_strengths": 4,
            "max_gaps": 3,
            "max_bullet_chars": 120,
            "max_reason_chars": 120,
            "protected_terms": PROTECTED,
        },
        "recruiting_strategy": {
            "min_items": 3,
            "min_chars": 80,
            "max_chars": 1000,
            "max_items": 6,
            "max_item_chars": 120,
        },
        "ats_keywords": {
            "min_keywords": 5,
            "max_keyword_words": 4,
            "max_keyword_chars": 30,
            "min_from_input_share": 0.8,
            "max_keywords": 10,
            "grammar_candidates": 32,
            "keyword_sections": ["requirements", "nice to have", "tools we use"],
        },
        "rank": {
            "min_reasons": 2,
            "max_reasons": 5,
            "max_reason_chars": 120,
            "shortlist_min_score": 0.5,
            "copied_min_chars": 30,
            "grounding_stopwords": ["I", "Candidate"],
            "generic_words": ["candidate", "experience", "years", "strong", "has", "with"],
            "protected_terms": PROTECTED,
        },
    }
)


@pytest.fixture(scope="session")
def rules() -> ValidatorRules:
    return TEST_RULES

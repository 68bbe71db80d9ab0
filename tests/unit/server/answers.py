"""Model answers for gateway tests: one valid and one invalid per domain."""

from __future__ import annotations

import json

RESUME_OK = (
    " Quantify results in every role, for example the 40% faster monthly reporting.\n"
    "2. Move SQL, Python and Tableau to a skills section at the top.\n"
    "3. Add a two-line summary aimed at the Data Analyst role.\n"
    "4. Replace duties with achievements that start with strong verbs.\n"
    "ATS Keywords: SQL, Python, Tableau, data visualization, stakeholder reporting"
)
RESUME_DEGENERATE = " 1. 1. 1. 1. 1. 1."
JD_OK = (
    "Senior Data Engineer at Acme, building the data platform behind our analytics.\n\n"
    "Responsibilities:\n- Build and maintain batch and streaming pipelines.\n"
    "- Partner with analysts on data models and metrics.\n- Review code and mentor engineers.\n\n"
    "Requirements:\n- 5+ years of Python and SQL.\n- Experience with Spark or Flink.\n"
    "- Clear written communication.\n\nBenefits:\n- Remote-first team."
)
JD_NO_REQUIREMENTS = "Responsibilities:\n- Build pipelines.\n- Write SQL.\n- Review code."
MATCH_OK = (
    "Match Score: 72/100\nStrengths:\n- 4 years of SQL reporting, as required.\n"
    "- Built dashboards in Tableau.\nGaps:\n- No Python experience.\n"
    "Recommendation: consider, strong reporting but needs Python."
)
STRATEGY_OK = (
    " Post the role on niche Go and Kubernetes job boards.\n"
    "2. Ask current engineers for referrals with a bonus.\n"
    "3. Run a 30-minute structured phone screen.\n"
    "4. Send offers within 48 hours of the final interview."
)
ATS_OK = " Python\n2. SQL\n3. Airflow\n4. Spark\n5. Stakeholder management\n6. Data team"
RANK_OK = json.dumps(
    {
        "decision": "shortlist",
        "score": 0.82,
        "reasons": ["Has 6 years of Python as required", "Led a data team at Acme"],
    }
)
RANK_LOW = json.dumps(
    {"decision": "reject", "score": 0.2, "reasons": ["No Python experience", "No SQL listed"]}
)
RANK_BROKEN = '{"decision": "maybe", "score": 3}'

JD_TEXT = (
    "Data Engineer at Acme. Requirements: 5 years of Python, SQL, Airflow and Spark, leading a "
    "data team, stakeholder management."
)
RESUME_TEXT = "Jane Roe. 6 years of Python and SQL at Acme. Led a data team of 4."

#: What an engine that enforces the self-check's constraints could answer, by domain.
SELF_CHECK_ATS = " SQL\n2. Python\n3. Tableau\n4. Snowflake\n5. Looker"
_BY_SYSTEM = {
    "resume coach": RESUME_OK,
    "job descriptions": JD_OK,
    "assessing a candidate": MATCH_OK,
    "recruiting strategist": STRATEGY_OK,
    "ATS keywords": SELF_CHECK_ATS,
    "careful recruiter": RANK_OK,
}


def in_shape(payload: dict[str, object]) -> str:
    """A well-formed answer for the domain the payload asks (found by its system prompt, or
    by its constraint when the self-check replaced the messages): an engine that enforces
    every constraint answers prose requests in the domain's shape."""
    body = json.dumps(payload)
    for marker, answer in _BY_SYSTEM.items():
        if marker in body:
            return answer
    if "response_format" in payload:
        return RANK_OK
    grammar = str(payload.get("structured_outputs", {}))
    for marker, answer in (
        ("ATS Keywords", RESUME_OK), ("Responsibilities", JD_OK), ("Match Score", MATCH_OK),
        ("SQL", SELF_CHECK_ATS),
    ):  # fmt: skip
        if marker in grammar:
            return answer
    return STRATEGY_OK

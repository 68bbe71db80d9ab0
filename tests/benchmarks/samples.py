"""Benchmark requests: two realistic inputs per domain (role, industry and seniority vary)."""

from __future__ import annotations

JD_ANALYST = (
    "Data Analyst at Acme Retail. Responsibilities: build weekly sales dashboards in Tableau, "
    "write SQL against our Snowflake warehouse, present findings to store managers. "
    "Requirements: 3+ years of SQL, Tableau or Power BI, Excel, clear communication."
)
JD_NURSE = (
    "Registered Nurse, ICU, St Mary Hospital. Responsibilities: monitor critically ill patients, "
    "administer medication, coordinate with physicians. Requirements: RN license, BLS and ACLS, "
    "2+ years of acute care experience, night shift availability."
)
RESUME_ANALYST = (
    "Jane Roe. Data analyst with 4 years at Northwind Traders. Built Tableau dashboards used by "
    "40 store managers. Wrote SQL on Snowflake and automated Excel reports. BSc Statistics."
)
RESUME_NURSE = (
    "Maria Gomez. Registered nurse, 3 years in the cardiac ICU at City General. BLS and ACLS "
    "certified. Precepted 5 new graduate nurses. BSN, University of Texas."
)

SAMPLES: dict[str, list[tuple[str, dict[str, str]]]] = {
    "resume_guidance": [
        ("/v1/resume-guidance", {"resume": RESUME_ANALYST, "target_role": "Senior Data Analyst"}),
        ("/v1/resume-guidance", {"resume": RESUME_NURSE, "target_role": "ICU Charge Nurse"}),
    ],
    "job_description": [
        ("/v1/job-description", {"title": "Data Analyst", "company": "Acme Retail",
                                 "details": "SQL, Tableau, hybrid in Chicago"}),
        ("/v1/job-description", {"title": "Warehouse Supervisor", "company": "FastShip Logistics",
                                 "details": "night shift, team of 20, forklift certified"}),
    ],
    "job_resume_match": [
        ("/v1/match", {"job_description": JD_ANALYST, "resume": RESUME_ANALYST}),
        ("/v1/match", {"job_description": JD_NURSE, "resume": RESUME_ANALYST}),
    ],
    "recruiting_strategy": [
        ("/v1/recruiting-strategy", {"role": "Senior Backend Engineer (Go)",
                                     "context": "Series B fintech, remote EU, 3 hires by June"}),
        ("/v1/recruiting-strategy", {"role": "ICU Nurse", "context": "rural hospital, 5 openings"}),
    ],
    "ats_keywords": [
        ("/v1/ats-keywords", {"job_description": JD_ANALYST}),
        ("/v1/ats-keywords", {"job_description": JD_NURSE}),
    ],
    "rank": [
        ("/v1/rank", {"job_description": JD_ANALYST, "candidate": RESUME_ANALYST}),
        ("/v1/rank", {"job_description": JD_NURSE, "candidate": RESUME_ANALYST}),
    ],
}  # fmt: skip

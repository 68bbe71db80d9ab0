"""The two sampling modes of the gating checks."""

from __future__ import annotations

from hrstack.training.config import EvalConfig
from hrstack.training.sampling import STABILIZED, STRATIFIED, EvalSampler
from hrstack.training.synth import generate


def sampler(domains, rules, **overrides) -> EvalSampler:
    rows, _ = generate(240, 2, domains, rules)
    return EvalSampler(rows, EvalConfig(scale=0.1, stabilize_from_step=100, **overrides), seed=1)


def test_stratified_checks_redraw_and_keep_quotas(domains, rules):
    s = sampler(domains, rules)
    mode, first, notes = s.sample(20)
    _, second, _ = s.sample(40)
    assert mode == STRATIFIED and not notes
    assert {p.id for p in first} != {p.id for p in second}
    per_domain = {d: sum(p.domain == d for p in first) for d in s.domains()}
    assert per_domain == {d: s.cfg.quota(d) for d in s.domains()}


def test_stabilized_checks_reuse_one_sample_and_report_missing_sources(domains, rules):
    s = sampler(domains, rules)
    mode, first, notes = s.sample(100)
    assert mode == STABILIZED
    assert s.sample(500)[1] == first
    # Resume asks for 4 synthetic + 2 original; synthetic data has no original rows.
    assert sum(p.domain == "resume_guidance" for p in first) == 6
    assert notes["resume_guidance"] == "original: asked 2, found 0; filled 2 from other sources"


def test_domains_without_fields_or_quota_are_skipped(domains, rules):
    s = sampler(domains, rules, quotas={"rank": 3})
    assert s.domains() == ["rank"]
    assert {p.domain for p in s.sample(0)[1]} == {"rank"}

"""configs/grafana/hrstack.json: every panel query names metrics the gateway or vLLM exports."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from hrstack.server.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[3] / "configs" / "grafana" / "hrstack.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "le", "inf", "nan"}  # fmt: skip


def gateway_series() -> set[str]:
    """Series names from the gateway's own Metrics class, so a rename breaks this test."""
    names = set()
    for metric in vars(Metrics()).values():
        if isinstance(metric, MetricWrapperBase):
            base, kind = metric._name, metric._type  # prometheus_client keeps them here
            names |= {base + suffix for suffix in SUFFIXES[str(kind)]}
    return names


def vllm_series() -> set[str]:
    """``vllm:*`` names declared in the installed vLLM's metrics modules (read, not imported)."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or spec.origin is None:
        pytest.skip("vllm is not installed")
    metrics_dir = Path(spec.origin).parent / "v1" / "metrics"
    names = set()
    for file in metrics_dir.glob("*.py"):
        for base in re.findall(r'name="(vllm:[a-z0-9_:]+)"', file.read_text()):
            names |= {base, base + "_total", base + "_bucket", base + "_sum", base + "_count"}
    return names


def exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """Identifiers that are series names: not functions, label sets, grouping or durations."""
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", "", expr)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        is_call = expr[match.end() :].lstrip().startswith("(")
        if not is_call and match.group() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def test_dashboard_is_valid_grafana_json() -> None:
    data = json.loads(DASHBOARD.read_text())
    assert data["title"] and data["uid"] and data["panels"]
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))


def test_every_expression_uses_known_metrics() -> None:
    known = gateway_series() | vllm_series()
    assert exprs()
    for expr in exprs():
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= known, f"{expr!r}: unknown {sorted(names - known)}"


def test_required_metrics_have_panels() -> None:
    used = set().union(*(metric_names(e) for e in exprs()))
    required = {
        "hrstack_requests_total", "hrstack_validation_failures_total", "hrstack_attempts_sum",
        "hrstack_request_latency_seconds_bucket", "hrstack_upstream_errors_total",
        "hrstack_in_flight_requests", "hrstack_tokens_total", "vllm:num_requests_running",
        "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:generation_tokens_total",
        "vllm:time_to_first_token_seconds_bucket",
    }  # fmt: skip
    assert required <= used, sorted(required - used)


def test_the_parser_catches_a_wrong_name() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (le) (rate(vllm:gpu_cache_usage_perc{a="b"}[5m]))) > 1e-3'
    )
    assert metric_names(expr) == {"vllm:gpu_cache_usage_perc"}
    assert "vllm:gpu_cache_usage_perc" not in vllm_series()  # the pre-v1 name


def test_latency_panels_read_answers_only() -> None:
    """A 429 storm is fast: mixed into the histogram it would lower the p99 under overload."""
    latency = [e for e in exprs() if "hrstack_request_latency_seconds" in e]
    assert latency
    for expr in latency:
        assert 'status_class="2xx"' in expr, expr


def test_prometheus_scrapes_the_gateway_and_vllm_at_their_default_ports() -> None:
    import yaml

    from hrstack.server.settings import Settings

    config = yaml.safe_load((DASHBOARD.parents[1] / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }
    fields = Settings.model_fields
    assert targets == {
        "hrstack-gateway": [f"127.0.0.1:{fields['port'].default}"],
        "vllm": [f"127.0.0.1:{fields['engine_port'].default}"],
    }

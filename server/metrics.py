"""Prometheus metrics for the gateway, on a registry of the app's own.

A registry per app (not the process-global default) lets tests build many apps in one process
and lets the launcher run without colliding metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "hrstack_requests",
            "Task requests by domain and outcome.",
            ["domain", "status"],
            registry=r,
        )
        self.validation_failures = Counter(
            "hrstack_validation_failures",
            "Failed validator checks, every attempt counted.",
            ["domain", "check"],
            registry=r,
        )
        self.attempts = Histogram(
            "hrstack_attempts",
            "Attempts used per answered request.",
            ["domain"],
            buckets=(1, 2, 3, 4, 5, 10),
            registry=r,
        )
        self.latency = Histogram(
            "hrstack_request_latency_seconds",
            "Gateway latency per request, retries included.",
            ["domain"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "hrstack_upstream_errors", "Errors talking to vLLM, by kind.", ["kind"], registry=r
        )
        self.in_flight = Gauge(
            "hrstack_in_flight_requests", "Task requests being served now.", registry=r
        )
        self.tokens = Counter(
            "hrstack_tokens",
            "Tokens by domain and kind (prompt, completion).",
            ["domain", "kind"],
            registry=r,
        )

"""Prometheus metrics for the gateway, on a registry of the app's own.

A registry per app (not the process-global default) lets tests build many apps in one process
and lets the launcher run without colliding metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)


def status_class(status: int) -> str:
    """200 -> "2xx"; the client-closed 499 counts with the refusals."""
    return f"{status // 100}xx"


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
        # By status class: a storm of fast 429s would otherwise pull the p99 of answers down
        # just when the gateway is overloaded. Dashboards read status_class="2xx".
        self.latency = Histogram(
            "hrstack_request_latency_seconds",
            "Gateway latency per request, retries included, by domain and status class (2xx "
            "answered, 4xx refused or client gone, 5xx failed).",
            ["domain", "status_class"],
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
        # --- guard: auth, admission, deadlines and disconnects ---------------------------------
        self.auth_failures = Counter(
            "hrstack_auth_failures", "Requests refused for a missing or unknown key.", registry=r
        )
        self.rejected = Counter(
            "hrstack_rejected",
            "Requests refused before any work: overloaded, upstream_unavailable, body_too_large.",
            ["reason"],
            registry=r,
        )
        self.cancelled = Counter(
            "hrstack_cancelled",
            "Admitted requests stopped mid-way: client_disconnect or deadline.",
            ["cause"],
            registry=r,
        )
        self.admission_limit = Gauge(
            "hrstack_admission_limit",
            "Requests the gateway admits at once now (scaled to healthy upstreams).",
            registry=r,
        )
        # --- upstreams --------------------------------------------------------------------------
        self.upstream_healthy = Gauge(
            "hrstack_upstream_healthy", "1 if the upstream passes health checks.", ["upstream"],
            registry=r,
        )  # fmt: skip
        self.upstream_calls = Counter(
            "hrstack_upstream_calls",
            "Calls to each upstream by outcome (ok or an error kind).",
            ["upstream", "outcome"],
            registry=r,
        )
        self.failovers = Counter(
            "hrstack_upstream_failovers",
            "Calls sent again after this upstream failed them (to another upstream, or once "
            "more to this one after a dropped connection), by error kind.",
            ["upstream", "kind"],
            registry=r,
        )
        self.engine_restarts = Counter(
            "hrstack_engine_restarts",
            "Launched vLLM processes restarted after dying, by exit (exit_N or signal_NAME).",
            ["reason"],
            registry=r,
        )
        # --- untrusted input, protected attributes, audit --------------------------------------
        self.input_flags = Counter(
            "hrstack_input_flags",
            "Suspicious input found: prompt_injection, hidden_text, delimiter, copied_posting.",
            ["kind"],
            registry=r,
        )
        self.redactions = Counter(
            "hrstack_redactions", "Protected-attribute spans redacted, by category.", ["category"],
            registry=r,
        )  # fmt: skip
        self.audit_records = Counter(
            "hrstack_audit_records", "Rank decisions written to the audit log.", registry=r
        )
        self.audit_failures = Counter(
            "hrstack_audit_failures",
            "Audit writes that failed (the request was refused with 503).",
            registry=r,
        )

"""The upstream vLLM servers one gateway routes to: their health and their load from here.

Health has two sources. Passive: a call that cannot reach an upstream, or that it answers with
a 5xx, marks it down at once, so the next request does not wait for a probe to notice. Active:
``/health`` is polled (by the engine client's ``ready``, on a timer and from ``/readyz``), which
is also how a recovered upstream comes back. A probe that is refused or answered non-200 marks
the upstream down at once; one that is merely slow counts a strike, and only several slow probes
in a row mark it down: on a small CPU host a busy engine answers /health late while it serves
fine, and with one upstream a single late probe would otherwise refuse every request (503)
until the next probe. A slow probe is no strike at all while the upstream has answered a call
within ``alive_window_s`` (the gateway sets its per-call deadline): an answer is better evidence
of life than a late /health (CI, stop 29: one 503 among 208 responses of the audit load test on a
saturated 2-core runner, its cause not recorded; a /health lagging for long is the likely one).
An engine that hangs stops answering, so its window runs out and the strikes count again.
Routing prefers healthy upstreams with the fewest
requests in flight from this gateway; down ones are tried only when no healthy one is left, so
a wrongly marked upstream still serves rather than the request failing.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Upstream:
    url: str
    healthy: bool = True  # optimistic until the first probe: start-up should not refuse work
    in_flight: int = 0
    last_error: str = ""
    slow_probes: int = 0  # consecutive /health probes that timed out
    answered_at: float = -math.inf  # when a call to it last succeeded (the pool's clock)


class UpstreamPool:
    def __init__(
        self,
        urls: Iterable[str],
        on_health: Callable[[str, bool], None] | None = None,
        *,
        slow_probes_to_down: int = 3,
        alive_window_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = [Upstream(url) for url in urls]
        if not self.upstreams:
            raise ValueError("an upstream pool needs at least one URL")
        if slow_probes_to_down < 1:
            raise ValueError(f"slow_probes_to_down must be at least 1, got {slow_probes_to_down}")
        self.slow_probes_to_down = slow_probes_to_down
        self.alive_window_s = alive_window_s
        self._clock = clock
        self._turn = itertools.count()
        self._on_health = on_health or (lambda url, healthy: None)
        for upstream in self.upstreams:
            self._on_health(upstream.url, True)

    def pick(self, exclude: set[str]) -> Upstream | None:
        """Least-loaded healthy upstream not yet tried (turns rotate on ties), else a down one."""
        start = next(self._turn) % len(self.upstreams)
        rotated = self.upstreams[start:] + self.upstreams[:start]
        left = [u for u in rotated if u.url not in exclude]
        if not left:
            return None
        return min(left, key=lambda u: (not u.healthy, u.in_flight))

    def mark(self, upstream: Upstream, healthy: bool, why: str = "") -> None:
        if healthy:
            upstream.slow_probes = 0
        else:
            upstream.last_error = why
        if upstream.healthy != healthy:
            upstream.healthy = healthy
            self._on_health(upstream.url, healthy)
            if healthy:
                log.info("upstream %s is up again", upstream.url)
            else:
                log.warning("upstream %s is marked down: %s", upstream.url, why)

    def answered(self, upstream: Upstream) -> None:
        """A call to ``upstream`` succeeded: it is up, and it is serving now."""
        upstream.answered_at = self._clock()
        self.mark(upstream, True)

    def slow_probe(self, upstream: Upstream, why: str) -> None:
        """A /health probe timed out: a strike, unless a call was answered within the alive
        window; down after ``slow_probes_to_down`` strikes in a row."""
        if self._clock() - upstream.answered_at < self.alive_window_s:
            log.debug("upstream %s: %s, but it answered a call recently", upstream.url, why)
            return
        upstream.slow_probes += 1
        upstream.last_error = why
        if upstream.slow_probes >= self.slow_probes_to_down:
            self.mark(upstream, False, f"{why} ({upstream.slow_probes} probes in a row)")

    def healthy_share(self) -> float:
        return sum(u.healthy for u in self.upstreams) / len(self.upstreams)

    def any_healthy(self) -> bool:
        return any(u.healthy for u in self.upstreams)

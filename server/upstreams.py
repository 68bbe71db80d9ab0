"""The upstream vLLM servers one gateway routes to: their health and their load from here.

Health has two sources. Passive: a call that cannot reach an upstream, or that it answers with
a 5xx, marks it down at once, so the next request does not wait for a probe to notice. Active:
``/health`` is polled (by the engine client's ``ready``, on a timer and from ``/readyz``), which
is also how a recovered upstream comes back. Routing prefers healthy upstreams with the fewest
requests in flight from this gateway; down ones are tried only when no healthy one is left, so
a wrongly marked upstream still serves rather than the request failing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class Upstream:
    url: str
    healthy: bool = True  # optimistic until the first probe: start-up should not refuse work
    in_flight: int = 0
    last_error: str = ""


class UpstreamPool:
    def __init__(
        self, urls: Iterable[str], on_health: Callable[[str, bool], None] | None = None
    ) -> None:
        self.upstreams = [Upstream(url) for url in urls]
        if not self.upstreams:
            raise ValueError("an upstream pool needs at least one URL")
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
        if not healthy:
            upstream.last_error = why
        if upstream.healthy != healthy:
            upstream.healthy = healthy
            self._on_health(upstream.url, healthy)

    def healthy_share(self) -> float:
        return sum(u.healthy for u in self.upstreams) / len(self.upstreams)

    def any_healthy(self) -> bool:
        return any(u.healthy for u in self.upstreams)

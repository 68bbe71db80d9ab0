"""Admission control: a fixed number of engine sequences in flight per gateway, never a queue.

The limit is one slot per sequence the upstreams batch at once (``MAX_NUM_SEQS`` x upstreams,
or ``MAX_IN_FLIGHT``), scaled by the share of upstreams that are healthy now: when one of two
engines dies, the survivor is offered its own batch, not both. A request beyond the limit is
refused at once (429 + Retry-After) rather than queued, because a queue in front of a saturated
engine only turns overload into timeouts for everyone. With no healthy upstream at all requests
are refused with 503.

A request holds one slot; a rank batch may take more (one per candidate it runs at once), but
only slots that are free now, so an admitted request is never refused half-way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was not admitted, as the client will see it."""

    status_code: int
    code: str
    message: str
    retry_after_s: int


class Admission:
    def __init__(
        self,
        limit: int,
        *,
        healthy_share: Callable[[], float] = lambda: 1.0,
        retry_after_s: int = 1,
        unavailable_retry_after_s: int = 5,
    ) -> None:
        if limit < 1:
            raise ValueError(f"admission limit must be at least 1, got {limit}")
        self.limit = limit
        self.in_flight = 0
        self._healthy_share = healthy_share
        self._retry_after_s = retry_after_s
        self._unavailable_retry_after_s = unavailable_retry_after_s

    def current_limit(self) -> int:
        """The limit scaled to the healthy upstreams (at least 1 while any is healthy)."""
        share = min(1.0, max(0.0, self._healthy_share()))
        return 0 if share == 0 else max(1, math.ceil(self.limit * share))

    def try_enter(self) -> Ticket | Rejection:
        limit = self.current_limit()
        if limit == 0:
            return Rejection(
                503,
                "upstream_unavailable",
                "no model server is healthy; retry after the Retry-After delay",
                self._unavailable_retry_after_s,
            )
        if self.in_flight >= limit:
            return Rejection(
                429,
                "overloaded",
                f"the gateway is serving its limit of {limit} requests; retry after the "
                "Retry-After delay",
                self._retry_after_s,
            )
        self.in_flight += 1
        return Ticket(self)


class Ticket:
    """The slots one admitted request holds; released exactly once."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self.slots = 1

    def grow(self, wanted: int) -> int:
        """Take up to ``wanted`` slots in all, from those free now; returns the slots held."""
        free = self._admission.current_limit() - self._admission.in_flight
        extra = max(0, min(wanted - self.slots, free))
        self._admission.in_flight += extra
        self.slots += extra
        return self.slots

    def release(self) -> None:
        self._admission.in_flight -= self.slots
        self.slots = 0

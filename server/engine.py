"""The seam between the gateway and vLLM.

``EngineClient`` is what the service needs from an engine; unit tests fake it. The real one,
``OpenAIHTTPEngine``, speaks vLLM's OpenAI-compatible HTTP API to one or more upstreams and turns
transport trouble into typed errors (503 unreachable, 504 timeout, 502 bad answer).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from server.errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


class EngineClient(Protocol):
    async def chat(self, payload: dict[str, Any]) -> Completion: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


class OpenAIHTTPEngine:
    """vLLM over HTTP. Picks the upstream with the fewest requests in flight from this gateway."""

    def __init__(
        self,
        urls: list[str],
        *,
        timeout_s: float,
        connect_timeout_s: float,
        retry_after_s: int,
        on_error: Callable[[str], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("OpenAIHTTPEngine needs at least one upstream URL")
        self.urls = list(urls)
        self._in_flight = dict.fromkeys(self.urls, 0)
        self._tiebreak = itertools.cycle(range(len(self.urls)))
        self._retry_after = {"Retry-After": str(retry_after_s)}
        self._on_error = on_error or (lambda kind: None)
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        # No connection-count cap here: admission control bounds concurrency, not the pool.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)

    def _pick(self) -> str:
        start = next(self._tiebreak)
        order = self.urls[start:] + self.urls[:start]
        return min(order, key=self._in_flight.__getitem__)

    async def chat(self, payload: dict[str, Any]) -> Completion:
        url = self._pick()
        self._in_flight[url] += 1
        try:
            response = await self._client.post(f"{url}/v1/chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            self._on_error("timeout")
            raise UpstreamTimeout(
                f"the model server at {url} did not answer in time ({type(exc).__name__}); "
                "retry, or raise UPSTREAM_TIMEOUT_S"
            ) from exc
        except httpx.TransportError as exc:
            self._on_error("unreachable")
            raise UpstreamUnavailable(
                f"the model server at {url} is unreachable ({type(exc).__name__}); retry shortly",
                headers=self._retry_after,
            ) from exc
        finally:
            self._in_flight[url] -= 1
        return self._parse(url, response)

    def _parse(self, url: str, response: httpx.Response) -> Completion:
        if response.status_code >= 500 or response.status_code == 429:
            self._on_error(f"http_{response.status_code}")
            raise UpstreamUnavailable(
                f"the model server at {url} answered {response.status_code}; retry shortly",
                headers=self._retry_after,
            )
        if response.status_code != 200:
            self._on_error(f"http_{response.status_code}")
            raise UpstreamBadResponse(
                f"the model server at {url} rejected the request ({response.status_code}): "
                f"{response.text[:300]}"
            )
        try:
            body = response.json()
            choice = body["choices"][0]
            usage = body.get("usage") or {}
            return Completion(
                text=choice["message"]["content"] or "",
                finish_reason=choice.get("finish_reason"),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self._on_error("bad_body")
            raise UpstreamBadResponse(f"the model server at {url} sent an unusable body") from exc

    async def ready(self) -> bool:
        """True when at least one upstream answers vLLM's /health with 200."""
        for url in self.urls:
            try:
                response = await self._client.get(f"{url}/health", timeout=2.0)
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                return True
        return False

    async def aclose(self) -> None:
        await self._client.aclose()

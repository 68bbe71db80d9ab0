"""A scripted engine at the EngineClient seam, and a TestClient around the real app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hrstack.server.app import create_app
from hrstack.server.engine import Completion, PromptSize
from hrstack.server.errors import GatewayError
from hrstack.server.settings import Settings

VALID_RANK = json.dumps(
    {"decision": "shortlist", "score": 0.8, "reasons": ["Python experience", "led data teams"]}
)


class FakeEngine:
    """Answers from a script: a list consumed in order, or a function of the payload."""

    def __init__(
        self,
        replies: list[str | GatewayError] | Callable[[dict[str, Any]], str] | None = None,
        *,
        ready: bool = True,
        context: int | None = None,
    ) -> None:
        self.replies = replies if replies is not None else []
        self.is_ready = ready
        self.share = 1.0
        self.payloads: list[dict[str, Any]] = []
        self.closed = False
        #: With a context, prompts are sized at a token per 4 characters (None: not sized).
        self.context = context
        self.piece_chars = 3  # what chat_stream sends at a time

    async def chat(self, payload: dict[str, Any]) -> Completion:
        self.payloads.append(payload)
        if callable(self.replies):
            text = self.replies(payload)
        else:
            reply = self.replies.pop(0)
            if isinstance(reply, GatewayError):
                raise reply
            text = reply
        return Completion(text=text, finish_reason="stop", prompt_tokens=10, completion_tokens=5)

    async def chat_stream(self, payload: dict[str, Any]) -> AsyncIterator[str | Completion]:
        """The scripted reply in pieces of ``piece_chars`` characters, then the whole."""
        completion = await self.chat(payload)
        text, size = completion.text, self.piece_chars
        for start in range(0, len(text), size):
            yield text[start : start + size]
        yield completion

    async def ready(self) -> bool:
        return self.is_ready

    def prompt_size_of(self, payload: dict[str, Any]) -> int:
        """Tokens this fake counts for a payload: a token per 4 characters, plus 10."""
        return sum(len(m["content"]) for m in payload["messages"]) // 4 + 10

    async def prompt_size(self, payload: dict[str, Any]) -> PromptSize | None:
        if self.context is None:
            return None
        return PromptSize(self.prompt_size_of(payload), self.context)

    async def count_tokens(self, model: str, texts: list[str]) -> list[int] | None:
        return None if self.context is None else [len(text) // 4 for text in texts]

    def healthy_share(self) -> float:
        return self.share

    async def aclose(self) -> None:
        self.closed = True


def gateway_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"upstream_urls": ["http://fake-upstream"], "self_check": False}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """A client around the real app; the audit log goes to the test's own folder."""
    clients: list[TestClient] = []

    def make(engine: FakeEngine, **settings: Any) -> TestClient:
        settings.setdefault("audit_log_path", tmp_path / "audit" / "rank.jsonl")
        client = TestClient(create_app(gateway_settings(**settings), engine=engine))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)

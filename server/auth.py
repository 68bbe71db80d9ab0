"""API keys from the environment, compared in constant time.

Keys arrive as ``Authorization: Bearer <key>`` (what the ``openai`` client sends) or
``X-API-Key: <key>``. Each presented key is hashed before comparison, so every comparison runs
over 32 bytes whatever the key's length, and every configured key is compared (no early exit):
neither the timing nor the length of a guess tells an attacker how close it was.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

#: Where the OpenAPI document says keys go; both schemes are accepted on every request.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


#: The caller of a gateway that has no keys configured.
ANONYMOUS = "anonymous"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def caller_id(key: str | None) -> str:
    """A stable, non-secret name for whoever holds ``key``, for the audit trail and the logs:
    a prefix of its SHA-256 (keys are >= 16 random characters, so it cannot be reversed)."""
    return ANONYMOUS if key is None else "key:" + _digest(key).hex()[:16]


class ApiKeys:
    """The configured keys (as digests only) and the paths that need none."""

    def __init__(self, keys: Iterable[SecretStr], open_paths: Iterable[str] = ()) -> None:
        self._digests = [_digest(key.get_secret_value()) for key in keys]
        self.open_paths = frozenset(open_paths)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def required(self, path: str) -> bool:
        return self.enabled and path not in self.open_paths

    def allows(self, presented: str | None) -> bool:
        if presented is None or not self.enabled:
            return not self.enabled
        digest = _digest(presented)
        matched = False
        for known in self._digests:
            matched |= hmac.compare_digest(digest, known)
        return matched


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, from ``Authorization: Bearer`` or ``X-API-Key``."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


def document_security(schema: dict[str, Any], open_paths: frozenset[str]) -> dict[str, Any]:
    """Declare the key schemes in an OpenAPI document; open paths are marked as needing none."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    schema["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, operations in schema.get("paths", {}).items():
        if path in open_paths:
            for operation in operations.values():
                operation["security"] = []
    return schema

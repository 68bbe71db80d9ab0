"""Create or update a template, and a Serverless endpoint, through RunPod's GraphQL API.

Source for the API shape (checked against RunPod's docs, not against the live API, which this
repository's CI cannot reach): https://docs.runpod.io/sdks/graphql/configurations (endpoint
``https://api.runpod.io/graphql``, key in the ``api_key`` query parameter) and
https://docs.runpod.io/sdks/graphql/manage-pod-templates (``saveTemplate`` creates; with ``id``
it modifies; names are unique per account). Templates are listed with
``myself { podTemplates { id name } }``, the query RunPod's own tools use.

Endpoints: https://docs.runpod.io/sdks/graphql/manage-endpoints (``saveEndpoint`` creates; with
``id`` it modifies; listed with ``myself { endpoints { id name } }``); the input type is
``EndpointInput``. Serverless templates are saved like pod templates, with ``isServerless``, and
listed among them.

Names are unique, so "create or update" is: look the name up, then save with its ``id`` if
there is one. The key travels in the URL as documented, so no URL is ever logged or put in an
error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from hrstack.deploy.runpod_serverless import EndpointConfig
from hrstack.deploy.runpod_template import TemplateBase

GRAPHQL_URL = "https://api.runpod.io/graphql"

LIST_TEMPLATES = "query HrstackTemplates { myself { podTemplates { id name } } }"
SAVE_TEMPLATE = (
    "mutation HrstackSaveTemplate($input: SaveTemplateInput!) "
    "{ saveTemplate(input: $input) { id name imageName } }"
)
LIST_ENDPOINTS = "query HrstackEndpoints { myself { endpoints { id name templateId } } }"
SAVE_ENDPOINT = (
    "mutation HrstackSaveEndpoint($input: EndpointInput!) "
    "{ saveEndpoint(input: $input) { id name templateId gpuIds workersMin workersMax } }"
)


class RunPodError(RuntimeError):
    """RunPod refused the request or answered something unexpected."""


@dataclass(frozen=True)
class Saved:
    """A saved template or endpoint: its id and name, and whether it was new."""

    id: str
    name: str
    created: bool


def save_template(
    template: TemplateBase,
    api_key: str,
    *,
    url: str = GRAPHQL_URL,
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> Saved:
    """Create ``template`` (a pod or a Serverless one), or update the account's template of the
    same name."""
    with _client(api_key, timeout_s, transport) as client:
        existing = _find_template_id(client, url, api_key, template.name)
        payload = template.model_dump()
        if existing:
            payload["id"] = existing
        data = _graphql(client, url, api_key, SAVE_TEMPLATE, {"input": payload})
    saved = data.get("saveTemplate") or {}
    if not saved.get("id"):
        raise RunPodError(f"RunPod answered saveTemplate without a template id: {data!r}")
    return Saved(id=str(saved["id"]), name=str(saved.get("name")), created=not existing)


def save_endpoint(
    endpoint: EndpointConfig,
    template_id: str,
    api_key: str,
    *,
    url: str = GRAPHQL_URL,
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> Saved:
    """Create the Serverless endpoint on ``template_id``, or modify the account's endpoint of
    the same name with these settings."""
    with _client(api_key, timeout_s, transport) as client:
        listed = _graphql(client, url, api_key, LIST_ENDPOINTS, None)
        endpoints = (listed.get("myself") or {}).get("endpoints") or []
        existing = next((str(e["id"]) for e in endpoints if e.get("name") == endpoint.name), None)
        payload = endpoint.as_input(template_id, existing)
        data = _graphql(client, url, api_key, SAVE_ENDPOINT, {"input": payload})
    saved = data.get("saveEndpoint") or {}
    if not saved.get("id"):
        raise RunPodError(f"RunPod answered saveEndpoint without an endpoint id: {data!r}")
    return Saved(id=str(saved["id"]), name=str(saved.get("name")), created=not existing)


def _client(api_key: str, timeout_s: float, transport: httpx.BaseTransport | None) -> httpx.Client:
    if not api_key:
        raise RunPodError("RUNPOD_API_KEY is empty; create a key in RunPod > Settings > API Keys.")
    return httpx.Client(timeout=timeout_s, transport=transport)


def _find_template_id(client: httpx.Client, url: str, api_key: str, name: str) -> str | None:
    data = _graphql(client, url, api_key, LIST_TEMPLATES, None)
    for item in (data.get("myself") or {}).get("podTemplates") or []:
        if item.get("name") == name:
            return str(item["id"])
    return None


def _graphql(
    client: httpx.Client, url: str, api_key: str, query: str, variables: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    try:
        response = client.post(url, params={"api_key": api_key}, json=body)
    except httpx.HTTPError as exc:  # the message names no URL, so the key cannot leak
        raise RunPodError(f"could not reach RunPod's API: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise RunPodError(
            f"RunPod rejected the API key (HTTP {response.status_code}); check RUNPOD_API_KEY "
            "and that the key has read/write access."
        )
    try:
        document = response.json()
    except ValueError:
        raise RunPodError(f"RunPod answered HTTP {response.status_code} without JSON") from None
    if document.get("errors"):
        messages = "; ".join(str(e.get("message", e)) for e in document["errors"])
        raise RunPodError(f"RunPod refused the request: {messages}")
    if response.status_code != 200 or not isinstance(document.get("data"), dict):
        raise RunPodError(f"RunPod answered HTTP {response.status_code} without data")
    data: dict[str, Any] = document["data"]
    return data

"""GET /playground: served without a key, off by a setting, and nothing on it from elsewhere
(the page runs where nothing can be fetched at run time); the browser test drives it for real
(tests/integration/test_playground.py)."""

from __future__ import annotations

import re

from tests.unit.server.conftest import FakeEngine


def test_the_page_is_served_without_a_key_and_calls_only_this_gateway(make_client):
    client = make_client(FakeEngine(), api_keys=["playground-key-0123456789"])
    page = client.get("/playground")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", html)  # no CDN, no fonts
    assert not re.search(r"fetch\(\s*[\"'`]https?://", html)
    routes = set(re.findall(r'<option value="([a-z-]+)"', html))
    served = {r.path.removeprefix("/v1/") for r in client.app.routes if r.path.startswith("/v1/")}
    assert routes and routes <= served  # every task it offers is a route of this gateway


def test_playground_false_removes_the_route(make_client):
    assert make_client(FakeEngine(), playground=False).get("/playground").status_code == 404

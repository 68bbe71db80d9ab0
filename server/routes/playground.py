"""GET /playground: one static page to try every task in a browser (PLAYGROUND=false: off).

Plain HTML and JavaScript (server/static/playground.html), no build step and nothing fetched
from elsewhere: it calls this gateway's task routes with the key typed into it, so a recruiter
sees exactly what a client gets, the validation checks, evidence, overrides and flags included.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = Path(__file__).resolve().parent.parent / "static" / "playground.html"
router = APIRouter(tags=["operations"])


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


@router.get("/playground", summary="Try every task in the browser", response_class=HTMLResponse)
async def playground() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})

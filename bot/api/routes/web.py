"""GET /: the office web page; its files are served under /static by the app."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[2] / "static"  # bot/static

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The office web page (no build step, no CDN)."""
    return FileResponse(STATIC / "index.html")

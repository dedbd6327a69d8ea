"""GET /healthz: readiness."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk

router = APIRouter()


@router.get("/healthz")
async def healthz(desk: Desk) -> dict[str, object]:
    """Ready when the index loads and the vector store answers; 503 with the reason otherwise."""
    return await run_in_threadpool(desk.health)

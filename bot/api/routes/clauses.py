"""GET /clauses/{id}: one clause verbatim."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk
from bot.api.schemas import ClauseOut, clause_response

router = APIRouter()


@router.get("/clauses/{clause_id}", response_model=ClauseOut)
async def clause(clause_id: str, desk: Desk) -> ClauseOut:
    """A clause verbatim, with its source location and neighbours."""
    return clause_response(await run_in_threadpool(desk.clause_detail, clause_id))

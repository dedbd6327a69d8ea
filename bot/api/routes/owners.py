"""GET /owners and GET /owners/{name}: departments and posts, and the clauses each is responsible for."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk
from bot.api.schemas import OwnerDetail, OwnerOut, citation, owner_out

router = APIRouter()


@router.get("/owners", response_model=list[OwnerOut])
async def owners(desk: Desk) -> list[OwnerOut]:
    """Departments and posts with contact and number of clauses."""
    return [owner_out(o) for o in await run_in_threadpool(desk.owners)]


@router.get("/owners/{name:path}", response_model=OwnerDetail)
async def owner(name: str, desk: Desk) -> OwnerDetail:
    """All clauses of one department or post, in document order."""
    summary, items = await run_in_threadpool(desk.owner, name)
    return OwnerDetail(**owner_out(summary).model_dump(), items=[citation(c) for c in items])

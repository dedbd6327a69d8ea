"""Staff's words: the office teaches the assistant what staff call the names the documents use (admin only)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Admin, Desk
from bot.api.errors import refusals
from bot.api.schemas import AliasAdded, AliasesOut, AliasRequest

router = APIRouter()


@router.get("/aliases", response_model=list[AliasesOut], dependencies=Admin)
async def aliases(desk: Desk) -> list[AliasesOut]:
    """The school's alias file: each name the documents use with the words staff use for it (admin)."""
    found = await run_in_threadpool(desk.aliases)
    return [AliasesOut(name=name, aliases=words) for name, words in found.items()]


@router.post("/aliases", response_model=AliasAdded, dependencies=Admin, responses=refusals(409, 422))
async def add_alias(body: AliasRequest, desk: Desk) -> AliasAdded:
    """Teach a staff word for a name the documents use: written to aliases.txt, re-ingested (admin)."""
    words, report = await run_in_threadpool(desk.add_alias, body.name, body.alias)
    generation = (await run_in_threadpool(desk.knowledge)).manifest.generation
    return AliasAdded(name=body.name.strip(), aliases=words, generation=generation, embedded=report.embedded)

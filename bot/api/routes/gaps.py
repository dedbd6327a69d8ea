"""Gaps: the office sees what staff could not find (admin only).

GET /gaps and POST /gaps/{id}/state need the admin token. The question text lives only in the
question log and these admin answers.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Admin, Desk
from bot.api.errors import refusals
from bot.api.schemas import GapOut, StateRequest, gap_out
from bot.gaps import gaps_csv

router = APIRouter()


@router.get("/gaps", response_model=list[GapOut], dependencies=Admin,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}})
async def gaps(desk: Desk, format: Annotated[Literal["json", "csv"], Query()] = "json") -> list[GapOut] | Response:
    """Questions staff could not get answered (or found unhelpful), grouped, most asked first (admin)."""
    found = await run_in_threadpool(desk.gaps)
    if format == "csv":
        return Response(gaps_csv(found), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="dutydesk-gaps.csv"'})
    return [gap_out(gap) for gap in found]


@router.post("/gaps/{gap_id}/state", status_code=204, response_class=Response, dependencies=Admin,
             responses=refusals(404, 422))
async def gap_state(gap_id: str, body: StateRequest, desk: Desk) -> Response:
    """Mark a gap open, a known gap (the rules really say nothing), or resolved (admin)."""
    await run_in_threadpool(desk.set_gap_state, gap_id, body.state)
    return Response(status_code=204)

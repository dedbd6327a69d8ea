"""POST /verify and POST /verify/batch: do quotes stand in today's rules."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk
from bot.api.schemas import BatchRequest, BatchResponse, PartOut, VerifyRequest, VerifyResponse, verify_response

router = APIRouter()


@router.post("/verify", response_model=VerifyResponse)
async def verify(body: VerifyRequest, desk: Desk) -> VerifyResponse:
    """Does a quote stand in today's rules; has its cited clause changed since?"""
    result = await run_in_threadpool(desk.verify, body.quote, body.citation_id)
    return verify_response(result)


@router.post("/verify/batch", response_model=BatchResponse)
async def verify_batch(body: BatchRequest, desk: Desk) -> BatchResponse:
    """Verify every quoted passage and [n] reference of a pasted answer (413 beyond DUTYDESK_VERIFY_BATCH_MAX)."""
    parts = await run_in_threadpool(desk.verify_answer, body.text, body.citation_ids)
    return BatchResponse(parts=[
        PartOut(text=p.text, marker=p.marker, citation_id=p.citation_id, status=p.status, problem=p.problem,
                result=verify_response(p.result) if p.result else None) for p in parts])

"""POST /feedback: whether an answer helped; open to every asker (unhelpful answers become gaps)."""
from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk
from bot.api.errors import refusals
from bot.api.schemas import FeedbackRequest

router = APIRouter()


@router.post("/feedback", status_code=204, response_class=Response, responses=refusals(404, 422))
async def feedback(body: FeedbackRequest, desk: Desk) -> Response:
    """Whether an answer helped; 404 for an answer id the question log does not hold."""
    await run_in_threadpool(desk.feedback, body.answer_id, body.helpful, body.comment)
    return Response(status_code=204)

"""POST /ask and POST /ask/stream: a question answered with citations, whole or as server-sent events."""
from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bot.answer import Answer
from bot.api.deps import Desk, Front
from bot.api.schemas import AskRequest, AskResponse, ask_response

router = APIRouter()


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, desk: Desk, front: Front) -> AskResponse:
    """Answer a question with citations (or refuse when the rules don't cover it)."""
    result = await run_in_threadpool(desk.ask, body.question, body.top_k, body.conversation_id, front)
    return ask_response(result)


@router.post("/ask/stream")
async def ask_stream(body: AskRequest, desk: Desk, front: Front) -> StreamingResponse:
    """The answer as server-sent events: `token` events as the model writes, then one `answer`."""
    from bot.llm import sse_events

    result = await run_in_threadpool(desk.prepare, body.question, body.top_k, body.conversation_id, front)

    def render(answer: Answer) -> dict[str, object]:
        return ask_response(replace(result, answer=answer)).model_dump(mode="json")

    events = sse_events(desk.answer_stream(result, body.top_k), render)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

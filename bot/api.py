"""The HTTP API: thin routes that translate JSON to DutyDesk calls and errors to 4xx/5xx once."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from bot.answer import Answer
from bot.api_deps import Desk
from bot.limits import BodyLimit, RateLimiter
from bot.schema import (AskRequest, AskResponse, ClauseOut, OwnerDetail, OwnerOut, VerifyRequest,
                        VerifyResponse, ask_response, citation, clause_response, owner_out, verify_response)
from bot.office_api import STATIC
from bot.office_api import router as office_router
from bot.service import DutyDesk, build
from bot.telegram import mount_webhook
from ingest.errors import DutyDeskError
from ingest.settings import get_settings

log = logging.getLogger(__name__)


def create_app(desk: DutyDesk | None = None, ingest_on_start: bool = True) -> FastAPI:
    """Build the FastAPI app around one DutyDesk (built from settings when not given)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = desk or build()
        if ingest_on_start:
            await run_in_threadpool(app.state.desk.ensure_index)
            await run_in_threadpool(app.state.desk.warm_up)
        yield

    settings = desk.settings if desk else get_settings()
    app = FastAPI(title="DutyDesk", description="学校规章制度问答：每个回答都引用原文条款。", lifespan=lifespan)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.state.rate_limiter = RateLimiter(settings.api_rate_limit)
    mount_webhook(app, desk, settings)  # only with a webhook URL set
    app.add_exception_handler(DutyDeskError, _dutydesk_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    _routes(app)
    app.include_router(office_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _dutydesk_error(request: Request, exc: DutyDeskError) -> JSONResponse:
    """Core errors carry their own status and a user-facing message."""
    if exc.status_code >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.message}, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with the fields at fault, without echoing the (possibly huge) input back."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": errors})


class RateLimited(DutyDeskError):
    """Too many questions from one client address."""

    status_code = 429


def rate_limited(request: Request) -> None:
    """Refuse a client over DUTYDESK_API_RATE_LIMIT questions per minute (429 + Retry-After)."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.rate_limiter.retry_after(client)
    if wait is not None:
        raise RateLimited(f"提问过于频繁，请 {wait} 秒后再试", retry_after=wait)


def _routes(app: FastAPI) -> None:
    """Register the endpoints of ARCHITECTURE.md."""

    @app.post("/ask", response_model=AskResponse, dependencies=[Depends(rate_limited)])
    async def ask(body: AskRequest, desk: Desk) -> AskResponse:
        """Answer a question with citations (or refuse when the rules don't cover it)."""
        result = await run_in_threadpool(desk.ask, body.question, body.top_k, body.conversation_id)
        return ask_response(result)

    @app.post("/ask/stream", dependencies=[Depends(rate_limited)])
    async def ask_stream(body: AskRequest, desk: Desk) -> StreamingResponse:
        """The answer as server-sent events: `token` events as the model writes, then one `answer`."""
        from bot.llm import sse_events

        result = await run_in_threadpool(desk.prepare, body.question, body.top_k, body.conversation_id)

        def render(answer: Answer) -> dict[str, object]:
            return ask_response(replace(result, answer=answer)).model_dump(mode="json")

        events = sse_events(desk.answer_stream(result, body.top_k), render)
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/clauses/{clause_id}", response_model=ClauseOut)
    async def clause(clause_id: str, desk: Desk) -> ClauseOut:
        """A clause verbatim, with its source location and neighbours."""
        return clause_response(await run_in_threadpool(desk.clause_detail, clause_id))

    @app.post("/verify", response_model=VerifyResponse)
    async def verify(body: VerifyRequest, desk: Desk) -> VerifyResponse:
        """Does a quote stand in today's rules; has its cited clause changed since?"""
        result = await run_in_threadpool(desk.verify, body.quote, body.citation_id)
        return verify_response(result)

    @app.get("/owners", response_model=list[OwnerOut])
    async def owners(desk: Desk) -> list[OwnerOut]:
        """Departments and posts with contact and number of clauses."""
        return [owner_out(o) for o in await run_in_threadpool(desk.owners)]

    @app.get("/owners/{name:path}", response_model=OwnerDetail)
    async def owner(name: str, desk: Desk) -> OwnerDetail:
        """All clauses of one department or post, in document order."""
        summary, items = await run_in_threadpool(desk.owner, name)
        return OwnerDetail(**owner_out(summary).model_dump(), items=[citation(c) for c in items])

    @app.get("/healthz")
    async def healthz(desk: Desk) -> dict[str, object]:
        """Ready when the index loads and the vector store answers; 503 with the reason otherwise."""
        return await run_in_threadpool(desk.health)

"""The HTTP API: thin routes that translate JSON to DutyDesk calls and errors to 4xx/5xx once."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from bot.answer import Answer
from bot.api_deps import Desk
from bot.gaps_api import Front
from bot.gaps_api import router as gaps_router
from bot.limits import AllowedHosts, BodyLimit, RateLimit, RateLimiter
from bot.schema import (AskRequest, AskResponse, ClauseOut, OwnerDetail, OwnerOut, VerifyRequest,
                        VerifyResponse, ask_response, citation, clause_response, owner_out, verify_response)
from bot.office_api import STATIC
from bot.office_api import router as office_router
from bot.service import DutyDesk, build
from bot.telegram import mount_webhook
from ingest.errors import DutyDeskError
from ingest.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(desk: DutyDesk | None = None, ingest_on_start: bool = True, bind_host: str | None = None) -> FastAPI:
    """Build the FastAPI app around one DutyDesk (built from settings when not given); `bind_host` is the
    address `dutydesk serve` listens on, a default allowed Host name."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = desk or build()
        if ingest_on_start:
            await run_in_threadpool(app.state.desk.ensure_index)
            await run_in_threadpool(app.state.desk.warm_up)
        yield

    settings = desk.settings if desk else get_settings()
    app = FastAPI(title="DutyDesk", description="学校规章制度问答：每个回答都引用原文条款。", lifespan=lifespan)
    webhook = mount_webhook(app, desk, settings)  # only with a webhook URL set
    _guards(app, settings, bind_host, webhook)
    app.add_exception_handler(DutyDeskError, _dutydesk_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    _routes(app)
    app.include_router(office_router)
    app.include_router(gaps_router)  # feedback, gaps, aliases
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


def _guards(app: FastAPI, settings: Settings, bind_host: str | None, webhook: str | None) -> None:
    """Middleware, outermost first: allowed Host names, the rate limit on every POST, the body-size limit.

    Middleware rather than per-route dependencies, so a POST route added later (in any router) is
    limited without anyone remembering to. The Telegram webhook is exempt: every update comes from
    Telegram's few servers, so a per-address limit would throttle all chats together, and Telegram
    answers a 429 by retrying, piling the updates up; the bot limits each user itself
    (DUTYDESK_TELEGRAM_RATE_LIMIT_PER_MINUTE) and the route accepts only Telegram's secret header.
    """
    # Each add_middleware wraps the ones before it, so the last added runs first.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(RateLimit, limiter=RateLimiter(settings.api_rate_limit), exempt=[webhook] if webhook else [])
    app.add_middleware(AllowedHosts, hosts=allowed_hosts(settings, bind_host))


def allowed_hosts(settings: Settings, bind_host: str | None = None) -> list[str]:
    """DUTYDESK_ALLOWED_HOSTS, or by default the loopback names, the bind address and the webhook's host.

    `testserver` is the Host of Starlette's in-process TestClient; it resolves nowhere, so a redirect
    naming it leads nowhere either.
    """
    if settings.allowed_hosts.strip():
        return [name.strip() for name in settings.allowed_hosts.split(",") if name.strip()]
    webhook = urlsplit(settings.telegram_webhook_url).hostname if settings.telegram_webhook_url else None
    return [name for name in ("localhost", "127.0.0.1", "::1", "testserver", settings.host, bind_host, webhook)
            if name]


def _routes(app: FastAPI) -> None:
    """Register the endpoints of ARCHITECTURE.md."""

    @app.post("/ask", response_model=AskResponse)
    async def ask(body: AskRequest, desk: Desk, front: Front) -> AskResponse:
        """Answer a question with citations (or refuse when the rules don't cover it)."""
        result = await run_in_threadpool(desk.ask, body.question, body.top_k, body.conversation_id, front)
        return ask_response(result)

    @app.post("/ask/stream")
    async def ask_stream(body: AskRequest, desk: Desk, front: Front) -> StreamingResponse:
        """The answer as server-sent events: `token` events as the model writes, then one `answer`."""
        from bot.llm import sse_events

        result = await run_in_threadpool(desk.prepare, body.question, body.top_k, body.conversation_id, front)

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

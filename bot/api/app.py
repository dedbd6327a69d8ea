"""The FastAPI app: thin routes that translate JSON to DutyDesk calls and errors to 4xx/5xx once."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from bot.api.routes import api_router
from bot.api.routes.web import STATIC
from bot.limits import AllowedHosts, BodyLimit, RateLimit, RateLimiter
from bot.service import DutyDesk, build
from ingest.errors import DutyDeskError
from ingest.settings import Settings, get_settings

log = logging.getLogger(__name__)

# A front end served inside the app (the Telegram webhook): given (app, desk, settings), it adds its
# routes and returns the path to exempt from the POST rate limit, or None. The composition root
# (`dutydesk serve`) passes them, so the API never imports a front end.
Mount = Callable[[FastAPI, DutyDesk | None, Settings], str | None]


def create_app(desk: DutyDesk | None = None, ingest_on_start: bool = True, bind_host: str | None = None, *,
               mounts: Sequence[Mount] = ()) -> FastAPI:
    """Build the FastAPI app around one DutyDesk (built from settings when not given); `bind_host` is the
    address `dutydesk serve` listens on, a default allowed Host name; `mounts` are called before the guards."""
    settings = desk.settings if desk else get_settings()
    app = FastAPI(title="DutyDesk", description="学校规章制度问答：每个回答都引用原文条款。",
                  lifespan=_lifespan(desk, ingest_on_start))
    exempt = [path for mount in mounts if (path := mount(app, desk, settings))]  # a webhook only with its URL set
    _guards(app, settings, bind_host, exempt)
    app.add_exception_handler(DutyDeskError, _dutydesk_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.include_router(api_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _lifespan(desk: DutyDesk | None, ingest_on_start: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Put the desk in app.state at startup (building it if none was given), ingesting and warming it up first."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = desk or build()
        if ingest_on_start:
            await run_in_threadpool(app.state.desk.ensure_index)
            await run_in_threadpool(app.state.desk.warm_up)
        yield

    return lifespan


async def _dutydesk_error(request: Request, exc: DutyDeskError) -> JSONResponse:
    """Core errors carry their own status and a user-facing message."""
    if exc.status_code >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.message}, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:  # noqa: ARG001 (FastAPI's handler signature)
    """422 with the fields at fault, without echoing the (possibly huge) input back."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": errors})


def _guards(app: FastAPI, settings: Settings, bind_host: str | None, exempt: Sequence[str]) -> None:
    """Middleware, outermost first: allowed Host names, the rate limit on every POST, the body-size limit.

    Middleware rather than per-route dependencies, so a POST route added later (in any router) is
    limited without anyone remembering to. The mounted front ends' paths are exempt: every Telegram
    webhook update comes from Telegram's few servers, so a per-address limit would throttle all chats
    together, and Telegram answers a 429 by retrying, piling the updates up; the bot limits each user
    itself (DUTYDESK_TELEGRAM_RATE_LIMIT_PER_MINUTE) and the route accepts only Telegram's secret header.
    """
    # Each add_middleware wraps the ones before it, so the last added runs first.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(RateLimit, limiter=RateLimiter(settings.api_rate_limit), exempt=list(exempt))
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

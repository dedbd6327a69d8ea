"""FastAPI dependencies shared by the routers: the desk, the front end a question came from, the admin token."""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from bot.api.errors import Closed, Unauthorized
from bot.service import DutyDesk

FRONT_HEADER = "X-DutyDesk-Front"
HTTP_FRONTS = ("api", "web")  # the fronts that ask over HTTP; anything else counts as the plain API


def get_desk(request: Request) -> DutyDesk:
    """The DutyDesk the app was built with."""
    desk: DutyDesk = request.app.state.desk
    return desk


Desk = Annotated[DutyDesk, Depends(get_desk)]


def front(request: Request) -> str:
    """The front end an HTTP question came from: the web page sends `X-DutyDesk-Front: web`."""
    value = request.headers.get(FRONT_HEADER, "").strip().lower()
    return value if value in HTTP_FRONTS else "api"


Front = Annotated[str, Depends(front)]


def require_admin(desk: Desk, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer DUTYDESK_ADMIN_TOKEN; without a configured token the endpoint is closed."""
    expected = desk.settings.admin_token
    if expected is None or not expected.get_secret_value():
        raise Closed("管理接口未开启（未设置 DUTYDESK_ADMIN_TOKEN）")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("需要管理员令牌（Authorization: Bearer …）")


Admin = [Depends(require_admin)]  # a route's `dependencies=`: admin only

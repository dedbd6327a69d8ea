"""FastAPI dependencies shared by the routers."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.service import DutyDesk


def get_desk(request: Request) -> DutyDesk:
    """The DutyDesk the app was built with."""
    return request.app.state.desk


Desk = Annotated[DutyDesk, Depends(get_desk)]

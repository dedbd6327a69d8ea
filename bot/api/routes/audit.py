"""GET /audit: the log of verifications (admin only)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bot.api.deps import Admin, Desk
from bot.api.schemas import AuditEntry

router = APIRouter()


@router.get("/audit", response_model=list[AuditEntry], response_model_exclude_unset=True, dependencies=Admin)
async def audit(desk: Desk, limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[AuditEntry]:
    """Recent verifications, newest first (admin only)."""
    return [AuditEntry(**row) for row in desk.audit.recent(limit)]

"""GET /documents…: documents and their versions, and the clauses that changed between two versions."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from bot.api.deps import Desk
from bot.api.schemas import DiffOut, VersionOut, diff_out
from bot.documents import DocumentInfo

router = APIRouter()


# The core's dataclass is the item's shape: FastAPI serves (and documents) it as it stands.
@router.get("/documents", response_model=list[DocumentInfo])
async def documents(desk: Desk) -> list[DocumentInfo]:
    """Current documents with their number of versions and effective date."""
    return await run_in_threadpool(desk.documents)


@router.get("/documents/{doc_id}/versions", response_model=list[VersionOut])
async def versions(doc_id: str, desk: Desk) -> list[VersionOut]:
    """Every version of a document (a new one only when its content changed)."""
    found = await run_in_threadpool(desk.document_versions, doc_id)
    return [VersionOut(version=v.version, sha256=v.sha256, ingested_at=v.ingested_at, effective=v.effective)
            for v in found]


@router.get("/documents/{doc_id}/diff", response_model=DiffOut)
async def document_diff(doc_id: str, desk: Desk, from_version: Annotated[int, Query(ge=1)],
                        to_version: Annotated[int, Query(ge=1)]) -> DiffOut:
    """Added, removed and changed clauses between two versions."""
    return diff_out(await run_in_threadpool(desk.diff, doc_id, from_version, to_version))

"""Office endpoints: documents and versions, diffs, batch verification, the audit log, the web page."""
from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from bot.api_deps import Desk
from bot.documents import Diff
from bot.schema import CitationOut, InputText, Strict, VerifyResponse, citation, verify_response
from ingest.errors import DutyDeskError

STATIC = Path(__file__).resolve().parent / "static"


class Unauthorized(DutyDeskError):
    """Missing or wrong admin token."""

    status_code = 401


class Closed(DutyDeskError):
    """An admin endpoint with no admin token configured stays closed."""

    status_code = 403


class DocumentOut(BaseModel):
    """GET /documents item."""

    id: str
    title: str
    path: str
    sha256: str
    versions: int
    effective: str | None


class VersionOut(BaseModel):
    """GET /documents/{id}/versions item."""

    version: int
    sha256: str
    ingested_at: str
    effective: str | None


class ChangeOut(BaseModel):
    """A changed clause: both texts."""

    before: CitationOut
    after: CitationOut


class DiffOut(BaseModel):
    """GET /documents/{id}/diff."""

    doc_id: str
    from_version: int
    to_version: int
    added: list[CitationOut]
    removed: list[CitationOut]
    changed: list[ChangeOut]


class BatchRequest(Strict):
    """POST /verify/batch: a pasted answer, and optionally the citation ids its [n] stand for."""

    text: InputText = Field(min_length=1, max_length=50_000)
    citation_ids: list[str] | None = Field(default=None, max_length=200)


class PartOut(BaseModel):
    """One checked part of a pasted answer."""

    text: str
    marker: int | None
    citation_id: str | None
    status: str  # verified | stale | not_found | unresolved
    problem: str | None
    result: VerifyResponse | None


class BatchResponse(BaseModel):
    """POST /verify/batch."""

    parts: list[PartOut]


class AuditEntry(BaseModel):
    """GET /audit item: one /verify, or (kind "batch") one whole /verify/batch with its counts.

    The batch fields are optional and left out of single verifications (the route excludes unset
    fields), so a /verify entry keeps exactly its five original keys.
    """

    at: str
    quote_sha256: str  # of the quote; for a batch, of the pasted text
    citation_id: str | None
    verified: bool  # for a batch: every part verified
    stale: bool  # for a batch: some part stale
    kind: Literal["batch"] | None = None
    parts: int | None = None  # quotes and [n] references checked
    checked: int | None = None  # distinct quotes verified (identical ones are checked once)
    verified_count: int | None = None
    stale_count: int | None = None


def require_admin(desk: Desk, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer DUTYDESK_ADMIN_TOKEN; without a configured token the endpoint is closed."""
    expected = desk.settings.admin_token
    if expected is None or not expected.get_secret_value():
        raise Closed("管理接口未开启（未设置 DUTYDESK_ADMIN_TOKEN）")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("需要管理员令牌（Authorization: Bearer …）")


def _diff_out(result: Diff) -> DiffOut:
    return DiffOut(doc_id=result.doc_id, from_version=result.from_version, to_version=result.to_version,
                   added=[citation(c) for c in result.added], removed=[citation(c) for c in result.removed],
                   changed=[ChangeOut(before=citation(a), after=citation(b)) for a, b in result.changed])


router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The office web page (no build step, no CDN)."""
    return FileResponse(STATIC / "index.html")


@router.get("/documents", response_model=list[DocumentOut])
async def documents(desk: Desk) -> list[DocumentOut]:
    """Current documents with their number of versions and effective date."""
    return [DocumentOut(**vars(d)) for d in await run_in_threadpool(desk.documents)]


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
    return _diff_out(await run_in_threadpool(desk.diff, doc_id, from_version, to_version))


@router.post("/verify/batch", response_model=BatchResponse)
async def verify_batch(body: BatchRequest, desk: Desk) -> BatchResponse:
    """Verify every quoted passage and [n] reference of a pasted answer (413 beyond DUTYDESK_VERIFY_BATCH_MAX)."""
    parts = await run_in_threadpool(desk.verify_answer, body.text, body.citation_ids)
    return BatchResponse(parts=[
        PartOut(text=p.text, marker=p.marker, citation_id=p.citation_id, status=p.status, problem=p.problem,
                result=verify_response(p.result) if p.result else None) for p in parts])


@router.get("/audit", response_model=list[AuditEntry], response_model_exclude_unset=True,
            dependencies=[Depends(require_admin)])
async def audit(desk: Desk, limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[AuditEntry]:
    """Recent verifications, newest first (admin only)."""
    return [AuditEntry(**row) for row in desk.audit.recent(limit)]

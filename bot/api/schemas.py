"""The JSON shapes of the outside interface, defined once for the API, the CLI's --json and the eval.

Every request and response body of the HTTP API, and the functions that turn core objects into them;
one core type is served as it stands: `bot.documents.DocumentInfo` (a GET /documents item).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic_core import PydanticCustomError

from bot.documents import Diff
from bot.gaps import Gap
from bot.knowledge import Owner
from bot.questions import MAX_COMMENT_CHARS, State
from bot.retrieve import Hit
from bot.service import MAX_QUESTION_CHARS, AskResult, ClauseDetail
from bot.textcheck import control_problem
from bot.verify import Verification
from ingest.aliases import MAX_ALIAS_CHARS
from ingest.model import Clause

MAX_TOP_K = 50


def _no_control_characters(value: str) -> str:
    """The rule of bot.textcheck as a validation error: 422, type `control_character`, with the reason."""
    problem = control_problem(value)
    if problem is not None:
        raise PydanticCustomError("control_character", "{reason}", {"reason": problem})
    return value


# Every free-text field of a request body (question, quote, pasted answer, feedback comment) is one of these.
InputText = Annotated[str, AfterValidator(_no_control_characters)]


class Strict(BaseModel):
    """Request bodies: unknown fields are a caller's mistake, not something to ignore silently."""

    model_config = ConfigDict(extra="forbid")


class AskRequest(Strict):
    """POST /ask."""

    question: InputText = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="员工的问题（中文）")
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K, strict=True,  # "3", 3.0 and true are not ints
                       description="最多返回的引用条数（职责清单除外）")
    conversation_id: str | None = Field(default=None, min_length=1, max_length=200,
                                        description="同一对话的编号：追问（如“那他们的电话呢？”）按上一轮回答理解")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("问题不能为空")
        return value


class VerifyRequest(Strict):
    """POST /verify."""

    quote: InputText = Field(min_length=1, max_length=20000)
    citation_id: str | None = Field(default=None, max_length=200)


class SourceOut(BaseModel):
    """Where a clause stands in its file."""

    path: str
    line_start: int
    line_end: int


class CitationOut(BaseModel):
    """A cited clause, resolvable to its verbatim text and source location."""

    id: str
    document: str
    section: list[str]
    owner: str | None
    label: str | None
    text: str
    quote: str = Field(description="label and text as the source writes them, e.g. 「（一）当日…」: what a quote shows")
    source: SourceOut
    sha256: str
    score: float | None = None


class ClauseOut(CitationOut):
    """GET /clauses/{id}: the clause, its neighbours, and its whole section for reading it in context."""

    neighbours: list[CitationOut]
    doc_id: str
    document_version: int | None = None
    document_effective: str | None = None
    section_clauses: list[CitationOut] = []


class OwnerRef(BaseModel):
    """The department or post an answer names."""

    name: str
    contact: str | None


class Timings(BaseModel):
    """Milliseconds spent retrieving and composing."""

    retrieve: float
    answer: float


class AskResponse(BaseModel):
    """POST /ask response (`refused` is `status != "answered"`, kept for existing clients)."""

    id: str
    answer: str
    status: Literal["answered", "related", "refused"]
    refused: bool
    mode: str
    owner: OwnerRef | None
    citations: list[CitationOut]
    timings_ms: Timings


class NearOut(BaseModel):
    """A clause resembling a quote that was not found verbatim."""

    clause: CitationOut
    similarity: float


class VerifyResponse(BaseModel):
    """POST /verify response (nearest: for a misquote; previous: the older text a stale quote came from)."""

    verified: bool
    stale: bool
    current: CitationOut | None
    matches: list[CitationOut]
    nearest: list[NearOut] = []
    previous: CitationOut | None = None


class OwnerOut(BaseModel):
    """GET /owners item."""

    name: str
    contact: str | None
    clauses: int


class OwnerDetail(OwnerOut):
    """GET /owners/{name}."""

    items: list[CitationOut]


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


class FeedbackRequest(Strict):
    """POST /feedback."""

    answer_id: str = Field(min_length=1, max_length=200, description="回答的 id（POST /ask 返回）")
    helpful: StrictBool = Field(description="回答是否有帮助")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS, description="补充说明（可选）")


class Problem(BaseModel):
    """An error: a message, or for malformed JSON the fields at fault."""

    detail: str | list[dict[str, Any]]


class GapOut(BaseModel):
    """GET /gaps item: one group of questions staff could not get answered."""

    id: str
    question: str
    variants: list[str]
    count: int
    last_asked: str
    status: Literal["answered", "related", "refused"]
    nearest: list[str]
    unhelpful: int
    state: State
    comments: list[str]


class StateRequest(Strict):
    """POST /gaps/{id}/state."""

    state: State


class AliasesOut(BaseModel):
    """GET /aliases item: a name the documents use and the words staff use for it."""

    name: str
    aliases: list[str]


class AliasRequest(Strict):
    """POST /aliases: teach a staff word for a name the documents use."""

    name: str = Field(min_length=1, max_length=MAX_ALIAS_CHARS, description="文档里用的名称，如 炊事员")
    alias: str = Field(min_length=1, max_length=MAX_ALIAS_CHARS, description="员工的说法，如 食堂师傅")


class AliasAdded(AliasesOut):
    """POST /aliases response: the name's words now, and the index generation that knows them."""

    generation: int
    embedded: int


def citation(clause: Clause, score: float | None = None) -> CitationOut:
    """A clause as a citation object."""
    return CitationOut(id=clause.id, document=clause.document, section=list(clause.section), owner=clause.owner,
                       label=clause.label, text=clause.text, quote=clause.quoted(),
                       source=SourceOut(**vars(clause.source)),
                       sha256=clause.sha256, score=None if score is None else round(score, 4))


def ask_response(result: AskResult) -> AskResponse:
    """An AskResult in the API's shape."""
    answer = result.answer
    owner = OwnerRef(name=answer.owner, contact=answer.contact) if answer.owner and not answer.refused else None
    return AskResponse(
        id=result.id, answer=answer.text, status=answer.status, refused=answer.refused, mode=answer.mode, owner=owner,
        citations=[_hit(hit) for hit in answer.citations],
        timings_ms=Timings(retrieve=round(result.retrieve_ms, 2), answer=round(result.answer_ms, 2)),
    )


def _hit(hit: Hit) -> CitationOut:
    return citation(hit.clause, hit.score)


def clause_response(detail: ClauseDetail) -> ClauseOut:
    """A clause with its neighbours, its section and the version of its document."""
    return ClauseOut(**citation(detail.clause).model_dump(), neighbours=[citation(c) for c in detail.neighbours],
                     doc_id=detail.clause.doc_id, document_version=detail.version,
                     document_effective=detail.effective, section_clauses=[citation(c) for c in detail.section])


def verify_response(result: Verification) -> VerifyResponse:
    """A verification in the API's shape."""
    return VerifyResponse(verified=result.verified, stale=result.stale,
                          current=citation(result.current) if result.current else None,
                          matches=[citation(c) for c in result.matches],
                          nearest=[NearOut(clause=citation(c), similarity=s) for c, s in result.nearest],
                          previous=citation(result.previous) if result.previous else None)


def owner_out(owner: Owner) -> OwnerOut:
    """An owner summary."""
    return OwnerOut(name=owner.name, contact=owner.contact, clauses=owner.clause_count)


def diff_out(result: Diff) -> DiffOut:
    """Two versions' differences in the API's shape."""
    return DiffOut(doc_id=result.doc_id, from_version=result.from_version, to_version=result.to_version,
                   added=[citation(c) for c in result.added], removed=[citation(c) for c in result.removed],
                   changed=[ChangeOut(before=citation(a), after=citation(b)) for a, b in result.changed])


def gap_out(gap: Gap) -> GapOut:
    """A gap in the API's shape (times in UTC, ISO 8601)."""
    return GapOut(id=gap.id, question=gap.question, variants=gap.variants, count=gap.count,
                  last_asked=gap.last_asked.isoformat(timespec="seconds"), status=gap.status,  # type: ignore[arg-type]
                  nearest=gap.nearest, unhelpful=gap.unhelpful, state=gap.state,  # type: ignore[arg-type]
                  comments=gap.comments)

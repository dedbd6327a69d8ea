"""Feedback, gaps and staff's words: the office sees what staff could not find and teaches the assistant.

POST /feedback is open to every asker; GET /gaps, POST /gaps/{id}/state and the alias routes need
the admin token. The question text lives only in the question log and these admin answers.
"""
from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictBool

from bot.api_deps import Desk
from bot.gaps import Gap
from bot.office_api import require_admin
from bot.questions import MAX_COMMENT_CHARS, State
from bot.schema import Strict
from ingest.aliases import MAX_ALIAS_CHARS

FRONT_HEADER = "X-DutyDesk-Front"
HTTP_FRONTS = ("api", "web")  # the fronts that ask over HTTP; anything else counts as the plain API
Admin = [Depends(require_admin)]
CSV_COLUMNS = ("编号", "问题", "次数", "最近提问（UTC）", "状态", "没帮助", "处理状态", "最接近的条款", "其他说法", "留言")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def front(request: Request) -> str:
    """The front end an HTTP question came from: the web page sends `X-DutyDesk-Front: web`."""
    value = request.headers.get(FRONT_HEADER, "").strip().lower()
    return value if value in HTTP_FRONTS else "api"


Front = Annotated[str, Depends(front)]


class FeedbackRequest(Strict):
    """POST /feedback."""

    answer_id: str = Field(min_length=1, max_length=200, description="回答的 id（POST /ask 返回）")
    helpful: StrictBool = Field(description="回答是否有帮助")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS, description="补充说明（可选）")


class Problem(BaseModel):
    """An error: a message, or for malformed JSON the fields at fault."""

    detail: str | list[dict[str, Any]]


_REFUSALS = {404: "不存在", 409: "说法已属于另一个名称", 422: "请求格式或内容不对（含字段说明或原因）"}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for errors a route returns; a 422 may be a reason as well as a list of fields."""
    return {code: {"model": Problem, "description": _REFUSALS[code]} for code in codes}


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


def gap_out(gap: Gap) -> GapOut:
    """A gap in the API's shape (times in UTC, ISO 8601)."""
    return GapOut(id=gap.id, question=gap.question, variants=gap.variants, count=gap.count,
                  last_asked=gap.last_asked.isoformat(timespec="seconds"), status=gap.status,  # type: ignore[arg-type]
                  nearest=gap.nearest, unhelpful=gap.unhelpful, state=gap.state,  # type: ignore[arg-type]
                  comments=gap.comments)


def gaps_csv(gaps: list[Gap]) -> bytes:
    """The gaps as a spreadsheet: UTF-8 with a BOM (so Excel reads the Chinese), one row per gap."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for gap in gaps:
        writer.writerow([_cell(value) for value in (
            gap.id, gap.question, gap.count, gap.last_asked.strftime("%Y-%m-%d %H:%M:%S"), gap.status,
            gap.unhelpful, gap.state, " ".join(gap.nearest), " | ".join(gap.variants[1:]),
            " | ".join(gap.comments))])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    """Staff's text that starts like a formula is quoted, so the spreadsheet shows it instead of running it."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


router = APIRouter()


@router.post("/feedback", status_code=204, response_class=Response, responses=refusals(404, 422))
async def feedback(body: FeedbackRequest, desk: Desk) -> Response:
    """Whether an answer helped; 404 for an answer id the question log does not hold."""
    await run_in_threadpool(desk.feedback, body.answer_id, body.helpful, body.comment)
    return Response(status_code=204)


@router.get("/gaps", response_model=list[GapOut], dependencies=Admin,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}})
async def gaps(desk: Desk, format: Annotated[Literal["json", "csv"], Query()] = "json") -> list[GapOut] | Response:
    """Questions staff could not get answered (or found unhelpful), grouped, most asked first (admin)."""
    found = await run_in_threadpool(desk.gaps)
    if format == "csv":
        return Response(gaps_csv(found), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="dutydesk-gaps.csv"'})
    return [gap_out(gap) for gap in found]


@router.post("/gaps/{gap_id}/state", status_code=204, response_class=Response, dependencies=Admin,
             responses=refusals(404, 422))
async def gap_state(gap_id: str, body: StateRequest, desk: Desk) -> Response:
    """Mark a gap open, a known gap (the rules really say nothing), or resolved (admin)."""
    await run_in_threadpool(desk.set_gap_state, gap_id, body.state)
    return Response(status_code=204)


@router.get("/aliases", response_model=list[AliasesOut], dependencies=Admin)
async def aliases(desk: Desk) -> list[AliasesOut]:
    """The school's alias file: each name the documents use with the words staff use for it (admin)."""
    found = await run_in_threadpool(desk.aliases)
    return [AliasesOut(name=name, aliases=words) for name, words in found.items()]


@router.post("/aliases", response_model=AliasAdded, dependencies=Admin, responses=refusals(409, 422))
async def add_alias(body: AliasRequest, desk: Desk) -> AliasAdded:
    """Teach a staff word for a name the documents use: written to aliases.txt, re-ingested (admin)."""
    words, report = await run_in_threadpool(desk.add_alias, body.name, body.alias)
    generation = (await run_in_threadpool(desk.knowledge)).manifest.generation
    return AliasAdded(name=body.name.strip(), aliases=words, generation=generation, embedded=report.embedded)


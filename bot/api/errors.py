"""The API's own errors, and the refusals its routes document (status → meaning) in the OpenAPI schema.

Core errors (ingest.errors) carry their HTTP status themselves; app.py translates every one of them
to `{"detail": message}` once.
"""
from __future__ import annotations

from typing import Any

from bot.api.schemas import Problem
from ingest.errors import DutyDeskError


class Unauthorized(DutyDeskError, status=401):
    """Missing or wrong admin token."""


class Closed(DutyDeskError, status=403):
    """An admin endpoint with no admin token configured stays closed."""


REFUSALS = {404: "不存在", 409: "说法已属于另一个名称", 422: "请求格式或内容不对（含字段说明或原因）"}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for errors a route returns; a 422 may be a reason as well as a list of fields."""
    return {code: {"model": Problem, "description": REFUSALS[code]} for code in codes}

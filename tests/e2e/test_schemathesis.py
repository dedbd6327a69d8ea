"""Schemathesis against the app's OpenAPI spec, over real HTTP (uvicorn, HashEmbedder, real chromadb).

Every operation of the spec gets a bounded number of generated requests, valid (positive) and
schema-violating (negative). Checks: never a 5xx (`not_a_server_error`), responses conform to
the schema where the spec declares one (`response_schema_conformance`), and, for negative data,
the app rejects it with a 4xx (`negative_data_rejection`). The admin bearer token is sent, so
/audit is exercised past its guard. `/ask/stream` is included: schemathesis reads the
`text/event-stream` body and the route declares no response schema to check it against.

Deterministic (`derandomize=True`, no example database); about 30 s for the whole spec.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from bot.api import create_app
from bot.service import DutyDesk
from ingest.settings import Settings
from tests.conftest import SMALL_CORPUS, write_docs
from tests.fakes.embedders import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "schemathesis-admin-token"
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 25}



# The spec does not depend on the index: build it once at collection time from an app whose desk
# is never used, so that every operation becomes its own test id.
_SPEC_APP = create_app(SimpleNamespace(settings=Settings(_env_file=None)), ingest_on_start=False)  # type: ignore[arg-type,call-arg]
# Negative data may be rejected with any 4xx: 413 (body limit) is as right as 422.
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": ["4XX"]}}})
SCHEMA = schemathesis.openapi.from_dict(_SPEC_APP.openapi(), config=CONFIG)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, serve_desk: Callable[..., Any]) -> Iterator[str]:
    """The real app over SMALL_CORPUS (HashEmbedder), with an admin token."""
    root = tmp_path_factory.mktemp("schemathesis")
    write_docs(root / "knowledge", SMALL_CORPUS)
    desk = DutyDesk(Settings(_env_file=None, data_dir=root / "data", knowledge_dir=root / "knowledge",  # type: ignore[call-arg]
                             chroma_url=None, answer_mode="extractive", admin_token=ADMIN_TOKEN),
                    HashEmbedder())
    assert not desk.ingest().failed
    with serve_desk(desk) as http:
        yield str(http.base_url).rstrip("/")


def test_spec_lists_every_route() -> None:
    """The spec covers the endpoints of ARCHITECTURE.md and the office API."""
    assert {"POST /ask", "POST /ask/stream", "GET /clauses/{clause_id}", "POST /verify", "GET /owners",
            "GET /owners/{name}", "GET /healthz", "GET /documents", "GET /documents/{doc_id}/versions",
            "GET /documents/{doc_id}/diff", "POST /verify/batch", "GET /audit"} <= set(OPERATIONS)


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation(base_url: str, label: str, mode: GenerationMode) -> None:
    """Generated requests for one operation: no 5xx, declared response schemas hold, bad data is a 4xx."""
    operation = OPERATIONS[label]
    checks = [not_a_server_error, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                               checks=checks, timeout=30)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            pytest.skip(f"{label}: its spec has nothing a request could violate (free-form strings only)")
        raise
